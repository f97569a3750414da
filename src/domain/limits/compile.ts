import { parseDuration } from '../duration';
import type { PlanLimits } from '../plan-limits';
import { parsePeriod, type Period } from './periods';
import { compilePrices, type PriceMicros } from './pricing';

/** Whom a limit counts: each key, the whole customer (all its keys together), or both. */
export type Scope = 'key' | 'customer' | 'both';

/** N requests per window (fixed windows aligned to the epoch, so to UTC days for 1d). */
export interface RateRule { name: string; limit: number; windowMs: number; scope: Scope }
/** Tokens per minute, prompt and completion weighted. */
export interface TpmRule { limit: number; scope: Scope; promptWeight: number; completionWeight: number }
/** Requests in flight at once. */
export interface ConcurrencyRule { limit: number; scope: Scope }
/** Units per period; hard refuses, soft allows and counts the excess as overage. */
export interface QuotaRule { name: string; unit: 'requests' | 'tokens' | 'predictions'; limit: number; period: Period; periodText: string; mode: 'hard' | 'soft'; scope: Scope }

/** A plan's limits (with a key's overrides applied) in the form the engine runs. */
export interface CompiledLimits {
  rates: RateRule[];
  tpm: TpmRule | null;
  concurrency: ConcurrencyRule | null;
  quotas: QuotaRule[];
  credits: { refillMicros: number; every: 'day' | 'week' | 'month'; alerts: number[] } | null;
  budget: { amountMicros: number; period: Period; periodText: string; alerts: number[] } | null;
  prices: Record<string, PriceMicros>;
  defaultMaxTokens: number;
  /** The completion cap a call that names none is held to: set when the plan limits or prices tokens. */
  tokenCap: number | null;
  currency: string;
  /** True when nothing is limited or priced: the hot path skips the engine entirely. */
  empty: boolean;
}

const DEFAULT_MAX_TOKENS = 1024;

function windowName(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Compiles plan limits; `overrides` (a key's) replace whole parts of the plan's, part by part. */
export function compileLimits(plan: PlanLimits, overrides: PlanLimits | null = null): CompiledLimits {
  const l: PlanLimits = { ...plan, ...(overrides ?? {}) };
  const scope: Scope = l.scope ?? 'customer';
  const rates = (l.rates ?? l.rate ?? []).map((r) => {
    const windowMs = parseDuration(r.per)!;
    return { name: `requests-${windowName(windowMs)}`, limit: r.requests, windowMs, scope: r.scope ?? scope };
  });
  const quotas = (l.quotas ?? []).map((q) => {
    const periodText = q.period ?? 'month';
    return { name: `${q.unit}-${periodText}`, unit: q.unit, limit: q.limit, period: parsePeriod(periodText), periodText, mode: q.mode ?? 'hard', scope: q.scope ?? scope };
  });
  const compiled: CompiledLimits = {
    rates,
    tpm: l.tokensPerMinute
      ? { limit: l.tokensPerMinute.limit, scope: l.tokensPerMinute.scope ?? scope, promptWeight: l.tokensPerMinute.promptWeight ?? 1, completionWeight: l.tokensPerMinute.completionWeight ?? 1 }
      : null,
    concurrency: l.concurrency ? { limit: l.concurrency.limit, scope: l.concurrency.scope ?? scope } : null,
    quotas,
    credits: l.credits ? { refillMicros: Math.round((l.credits.refill ?? 0) * 1e6), every: l.credits.every ?? 'month', alerts: l.credits.alerts ?? [] } : null,
    budget: l.budget
      ? { amountMicros: Math.round(l.budget.amount * 1e6), period: parsePeriod(l.budget.period), periodText: l.budget.period ?? 'month', alerts: l.budget.alerts ?? [] }
      : null,
    prices: compilePrices(l.prices),
    defaultMaxTokens: l.defaultMaxTokens ?? DEFAULT_MAX_TOKENS,
    tokenCap: null,
    currency: l.currency ?? 'usd',
    empty: false,
  };
  const capsTokens = compiled.tpm || compiled.budget || compiled.credits || quotas.some((q) => q.unit === 'tokens');
  compiled.tokenCap = capsTokens ? compiled.defaultMaxTokens : null;
  compiled.empty =
    !rates.length && !compiled.tpm && !compiled.concurrency && !quotas.length && !compiled.credits && !compiled.budget &&
    Object.keys(compiled.prices).length === 0;
  return compiled;
}
