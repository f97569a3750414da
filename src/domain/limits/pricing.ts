import type { PlanLimits } from '../plan-limits';

/** Prices of one model in micro-units of the plan's currency. */
export interface PriceMicros {
  promptPer1k: number;
  completionPer1k: number;
  perRequest: number;
  perPrediction: number;
}

/** What a call used (or may use), for pricing. */
export interface PricedUnits {
  promptTokens: number;
  completionTokens: number;
  predictions: number;
  requests: number;
}

const micro = (n: number | undefined) => Math.round((n ?? 0) * 1_000_000);

/** The plan's price table in micro-units; `*` prices every model without its own entry. */
export function compilePrices(prices: PlanLimits['prices']): Record<string, PriceMicros> {
  const out: Record<string, PriceMicros> = {};
  for (const [model, p] of Object.entries(prices ?? {})) {
    out[model] = {
      promptPer1k: micro(p.promptPer1k),
      completionPer1k: micro(p.completionPer1k),
      perRequest: micro(p.perRequest),
      perPrediction: micro(p.perPrediction),
    };
  }
  return out;
}

/** Price of `units` of `model` in micro-units, rounded up to a whole micro-unit. */
export function priceMicros(prices: Record<string, PriceMicros>, model: string, units: PricedUnits): number {
  const p = prices[model] ?? prices['*'];
  if (!p) return 0;
  const exact =
    (units.promptTokens * p.promptPer1k) / 1000 +
    (units.completionTokens * p.completionPer1k) / 1000 +
    units.requests * p.perRequest +
    units.predictions * p.perPrediction;
  return Math.ceil(exact - 1e-9);
}
