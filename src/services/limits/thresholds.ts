import { bucketOf, calendarStart } from '../../domain/limits/periods';
import type { Reservation, ThresholdCrossing } from './types';

/** Money spent so far, against which alert thresholds are measured. */
export interface Spend {
  budgetUsed: number;
  creditsSpent: number;
  creditsTotal: number;
}

/** The reservation's customer spend at `now`. */
export function spendOf(r: Reservation, creditsTotal: number, now: number): Spend {
  return { budgetUsed: r.budget?.used(now) ?? 0, creditsSpent: r.credits?.spentMicros ?? 0, creditsTotal };
}

/** Thresholds (percent of budget, or of credits granted) that this settlement crossed upwards. */
export function thresholdsCrossed(r: Reservation, before: Spend, after: Spend, now: number): ThresholdCrossing[] {
  const out: ThresholdCrossing[] = [];
  const { budget, credits } = r.limits;
  if (budget && budget.amountMicros > 0) {
    for (const pct of budget.alerts) {
      const line = (budget.amountMicros * pct) / 100;
      if (before.budgetUsed < line && after.budgetUsed >= line) {
        out.push({ customerId: r.customerId, kind: 'budget', thresholdPercent: pct, periodStart: bucketOf(budget.period, now), usedMicros: after.budgetUsed, limitMicros: budget.amountMicros, currency: r.limits.currency, at: now });
      }
    }
  }
  if (credits && after.creditsTotal > 0) {
    for (const pct of credits.alerts) {
      const line = (after.creditsTotal * pct) / 100;
      if (before.creditsSpent < line && after.creditsSpent >= line) {
        out.push({ customerId: r.customerId, kind: 'credits', thresholdPercent: pct, periodStart: calendarStart(credits.every, now), usedMicros: after.creditsSpent, limitMicros: after.creditsTotal, currency: r.limits.currency, at: now });
      }
    }
  }
  return out;
}
