import { z } from 'zod';
import { BILLING_CONFIG } from './services/billing/billing-config';

const bytes = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .default('on')
  .transform((v) => v === 'on' || v === 'true' || v === '1');
/** An optional setting; an empty value counts as unset. */
const optional = <T extends z.ZodType<string | undefined>>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** Every setting, from the environment. Parsed once at start; a bad value stops the process with its name. */
export const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('0.0.0.0'),
  TOLLGATE_DB: z.string().min(1).default('./data/tollgate.db'),
  TOLLGATE_DURABILITY: z.enum(['normal', 'full']).default('normal'),
  TOLLGATE_MAX_BODY_BYTES: bytes(10 * 1024 * 1024),
  TOLLGATE_MAX_RESPONSE_BYTES: bytes(64 * 1024 * 1024),
  TOLLGATE_MAX_HEADER_BYTES: bytes(16 * 1024),
  TOLLGATE_KEY_CACHE_SIZE: z.coerce.number().int().positive().default(100_000),
  TOLLGATE_DEMO: onOff,
  TOLLGATE_DEMO_PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  TOLLGATE_LOG: z.enum(['silent', 'info', 'debug']).default('info'),
  /** Workers: how long after a commit a customer's object copies its new ledger rows to D1 (a burst goes in one batch). */
  TOLLGATE_LEDGER_COPY_DELAY_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_000),
  /** Stripe billing: keys, webhook secret, sync interval, bucket, grace period (src/services/billing/billing-config.ts). */
  ...BILLING_CONFIG,
  /** Alert webhooks: first retry delay (later retries are multiples of it), attempts before giving up, per-attempt timeout. */
  TOLLGATE_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().positive().default(10_000),
  TOLLGATE_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  TOLLGATE_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Admin API auth, one of two modes (neither: the admin API is off). HS256 needs a 256-bit secret. */
  TOLLGATE_ADMIN_JWT_SECRET: optional(z.string().min(32, 'must be at least 32 characters (HS256 needs 256 bits)')),
  TOLLGATE_ADMIN_JWKS_URL: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  TOLLGATE_ADMIN_ISSUER: optional(z.string()),
  TOLLGATE_ADMIN_AUDIENCE: optional(z.string()),
  /** How soon a token with an unknown key id may make the gateway fetch the JWKS again (key rotation). */
  TOLLGATE_ADMIN_JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).default(30_000),
}).superRefine((c, ctx) => {
  if (c.TOLLGATE_ADMIN_JWT_SECRET && c.TOLLGATE_ADMIN_JWKS_URL) {
    ctx.addIssue({ code: 'custom', path: ['TOLLGATE_ADMIN_JWKS_URL'], message: 'set either TOLLGATE_ADMIN_JWT_SECRET or TOLLGATE_ADMIN_JWKS_URL, not both' });
  }
  for (const name of ['TOLLGATE_ADMIN_ISSUER', 'TOLLGATE_ADMIN_AUDIENCE'] as const) {
    if (c.TOLLGATE_ADMIN_JWKS_URL && !c[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required with TOLLGATE_ADMIN_JWKS_URL' });
  }
});

/** Parsed configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** Parses configuration or throws an error naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`);
  throw new Error(`invalid configuration:\n${lines.join('\n')}`);
}
