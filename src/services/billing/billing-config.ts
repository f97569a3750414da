import { z } from 'zod';
import { parseDuration } from '../../domain/duration';
import type { BillingSettings } from './billing-deps';
import { DEFAULT_BILLING_SETTINGS } from './billing-deps';

/** An optional setting; an empty value counts as unset. */
const optional = <T extends z.ZodType<string | undefined>>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** A duration setting (`30s`, `5m`, `1h`, `3d`, or `0` when `allowZero`), parsed to milliseconds. */
const duration = (fallback: string, allowZero = false) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === null || (!allowZero && ms === 0)) {
        ctx.addIssue({ code: 'custom', message: `must be a duration like 30s, 5m, 1h or 3d${allowZero ? ' (or 0)' : ''}` });
        return z.NEVER;
      }
      return ms;
    });

/** The billing part of the configuration schema (spread into src/config.ts). */
export const BILLING_CONFIG = {
  /** Stripe secret or restricted key; without it nothing is sent to Stripe and the sync job does not run. */
  STRIPE_SECRET_KEY: optional(z.string().regex(/^(sk|rk)_(test|live)_\w+$/, 'must be a Stripe secret key (sk_test_… / sk_live_… or rk_…)')),
  /** Signing secret of the `/webhooks/stripe` endpoint (`whsec_…`); without it the endpoint answers 503. */
  STRIPE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_\w+$/, 'must be a webhook signing secret (whsec_…)')),
  /** A Stripe-compatible server instead of api.stripe.com (tests, local runs). */
  STRIPE_API_URL: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  TOLLGATE_BILLING_SYNC_INTERVAL: duration('60s'),
  TOLLGATE_BILLING_BUCKET: z.enum(['hour', 'day']).default('hour'),
  TOLLGATE_BILLING_STREAM_MIN: z.coerce.number().int().positive().default(DEFAULT_BILLING_SETTINGS.streamMin),
  TOLLGATE_BILLING_PAYMENT_GRACE: duration('3d', true),
  TOLLGATE_BILLING_WEBHOOK_TOLERANCE: duration('5m'),
  TOLLGATE_STRIPE_TIMEOUT: duration('30s'),
  TOLLGATE_BILLING_SUMMARY_LAG: duration('1h', true),
};

const BillingConfigSchema = z.object(BILLING_CONFIG);

/** The parsed billing settings. */
export type BillingConfig = z.infer<typeof BillingConfigSchema>;

/** Billing settings from parsed configuration. */
export function billingSettings(config: BillingConfig): BillingSettings {
  return {
    ...DEFAULT_BILLING_SETTINGS,
    bucket: config.TOLLGATE_BILLING_BUCKET,
    streamMin: config.TOLLGATE_BILLING_STREAM_MIN,
    paymentGraceMs: config.TOLLGATE_BILLING_PAYMENT_GRACE,
    webhookToleranceSec: Math.round(config.TOLLGATE_BILLING_WEBHOOK_TOLERANCE / 1000),
    summaryLagMs: config.TOLLGATE_BILLING_SUMMARY_LAG,
  };
}
