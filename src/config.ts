import { z } from 'zod';

const bytes = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .default('on')
  .transform((v) => v === 'on' || v === 'true' || v === '1');

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
