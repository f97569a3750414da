import type { CompiledLimits } from '../../domain/limits/compile';
import { periodsElapsed } from '../../domain/limits/periods';
import type { CreditState } from './subjects';

/** Credits available before reservations: grants + refills since the customer started − spent. */
export function creditBalance(credits: Pick<CreditState, 'grantsMicros' | 'spentMicros' | 'since'>, limits: CompiledLimits, now: number): number {
  const c = limits.credits;
  const refills = c && c.refillMicros > 0 ? c.refillMicros * periodsElapsed(c.every, credits.since, now) : 0;
  return credits.grantsMicros + refills - credits.spentMicros;
}
