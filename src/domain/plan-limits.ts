import { z } from 'zod';
import { parseDuration } from './duration';

const count = z.number().int().positive();
const money = z.number().nonnegative();
const duration = z.string().refine((v) => (parseDuration(v) ?? 0) > 0, 'a duration like 1s, 10m, 1h, 1d');
const scope = z.enum(['key', 'customer', 'both']);
const period = z.union([z.enum(['day', 'week', 'month']), z.string().regex(/^rolling:\d+[smhd]$/, 'rolling:<duration>, e.g. rolling:30d')]);

/** Prices of one model, in the plan's currency (micro-precision). */
export const PriceSchema = z.strictObject({
  promptPer1k: money.optional(),
  completionPer1k: money.optional(),
  perRequest: money.optional(),
  perPrediction: money.optional(),
});

/**
 * Everything a plan may limit. All parts are optional and combine; `scope` says whether a limit counts
 * per key, per customer (shared by all its keys) or both, and can be set per limit.
 */
export const PlanLimitsSchema = z.strictObject({
  scope: scope.optional(),
  rates: z.array(z.strictObject({ requests: count, per: duration, scope: scope.optional() })).optional(),
  /** Alias of `rates`. */
  rate: z.array(z.strictObject({ requests: count, per: duration, scope: scope.optional() })).optional(),
  tokensPerMinute: z
    .strictObject({
      limit: count,
      scope: scope.optional(),
      /** Weighted unit: prompt and completion tokens count with these weights (default 1 and 1). */
      promptWeight: z.number().nonnegative().optional(),
      completionWeight: z.number().nonnegative().optional(),
    })
    .optional(),
  concurrency: z.strictObject({ limit: count, scope: scope.optional() }).optional(),
  quotas: z
    .array(
      z.strictObject({
        unit: z.enum(['requests', 'tokens', 'predictions']),
        limit: count,
        period: period.optional(),
        mode: z.enum(['hard', 'soft']).optional(),
        scope: scope.optional(),
      }),
    )
    .optional(),
  credits: z
    .strictObject({ refill: money.optional(), every: z.enum(['day', 'week', 'month']).optional(), alerts: z.array(z.number().positive().max(100)).optional() })
    .optional(),
  budget: z.strictObject({ amount: money, period: period.optional(), alerts: z.array(z.number().positive().max(1000)).optional() }).optional(),
  prices: z.record(z.string(), PriceSchema).optional(),
  /** Tokens reserved for a completion that names no max_tokens. */
  defaultMaxTokens: count.optional(),
  currency: z.string().length(3).optional(),
});

/** A plan's limits, validated. */
export type PlanLimits = z.infer<typeof PlanLimitsSchema>;
