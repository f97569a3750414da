/** The Stripe meters Tollgate bills by. Each one maps to one Stripe Billing Meter (`sum` aggregation). */
export const BILLING_METERS = ['requests', 'input_tokens', 'output_tokens', 'predictions'] as const;

/** A billing meter name. */
export type BillingMeter = (typeof BILLING_METERS)[number];

/** The meter event name each meter reports under at Stripe (`tollgate billing setup` creates or adopts them). */
export const METER_EVENT_NAMES: Record<BillingMeter, string> = {
  requests: 'tollgate_requests',
  input_tokens: 'tollgate_input_tokens',
  output_tokens: 'tollgate_output_tokens',
  predictions: 'tollgate_predictions',
};

/** What each meter counts, as shown on the Stripe meter and in help. */
export const METER_DISPLAY_NAMES: Record<BillingMeter, string> = {
  requests: 'Tollgate billable requests',
  input_tokens: 'Tollgate input (prompt) tokens',
  output_tokens: 'Tollgate output (completion) tokens',
  predictions: 'Tollgate predictions',
};

/** The plan price field that bills by each meter (see domain/plan-limits.ts). */
const PRICE_FIELD: Record<BillingMeter, string> = {
  requests: 'perRequest',
  input_tokens: 'promptPer1k',
  output_tokens: 'completionPer1k',
  predictions: 'perPrediction',
};

/** True when `value` names a meter. */
export function isBillingMeter(value: string): value is BillingMeter {
  return (BILLING_METERS as readonly string[]).includes(value);
}

/**
 * The meters some plan prices (a `prices` entry with the meter's field). With no prices anywhere every
 * meter is needed, since Stripe prices may be set up without Tollgate knowing them.
 */
export function metersForPlans(planLimits: ReadonlyArray<Record<string, unknown>>): BillingMeter[] {
  const used = new Set<BillingMeter>();
  for (const limits of planLimits) {
    const prices = (limits.prices ?? {}) as Record<string, Record<string, unknown> | undefined>;
    for (const price of Object.values(prices)) {
      for (const meter of BILLING_METERS) if (price && price[PRICE_FIELD[meter]] !== undefined) used.add(meter);
    }
  }
  return used.size ? BILLING_METERS.filter((m) => used.has(m)) : [...BILLING_METERS];
}
