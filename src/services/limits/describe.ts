import type { CompiledLimits, Scope } from '../../domain/limits/compile';
import type { CreditState, SubjectStore } from './subjects';
import type { LimitCaller, LimitView } from './types';

const iso = (ms: number) => new Date(ms).toISOString();

/** Every limit of the caller's plan with its current use, reservations, remaining amount and reset time. */
export async function describeLimits(
  limits: CompiledLimits,
  caller: LimitCaller,
  subjects: SubjectStore,
  now: number,
  creditTotal: (c: CreditState) => number,
): Promise<LimitView[]> {
  if (limits.empty) return [];
  const key = subjects.get('key', caller.keyId);
  const customer = subjects.get('customer', caller.customerId);
  const pick = (scope: Scope) => (scope === 'key' ? [key] : scope === 'customer' ? [customer] : [key, customer]);
  const views: LimitView[] = [];
  for (const rule of limits.rates) {
    for (const s of pick(rule.scope)) {
      const w = s.window(rule.windowMs);
      w.roll(now);
      views.push({ name: rule.name, windowSeconds: rule.windowMs / 1000, kind: 'rate', scope: s.kind, unit: 'requests', limit: rule.limit, used: w.count, reserved: 0, remaining: Math.max(0, rule.limit - w.count), resetsAt: iso(w.resetAt()) });
    }
  }
  if (limits.tpm) {
    for (const s of pick(limits.tpm.scope)) {
      s.tpm.roll(now);
      const taken = s.tpm.used + s.tpm.reserved;
      views.push({ name: 'tokens-per-minute', kind: 'tokens_per_minute', scope: s.kind, unit: 'tokens', limit: limits.tpm.limit, used: s.tpm.used, reserved: s.tpm.reserved, remaining: Math.max(0, limits.tpm.limit - taken), resetsAt: iso(s.tpm.resetAt()) });
    }
  }
  if (limits.concurrency) {
    for (const s of pick(limits.concurrency.scope)) {
      views.push({ name: 'concurrency', kind: 'concurrency', scope: s.kind, unit: 'requests', limit: limits.concurrency.limit, used: s.inflight, reserved: 0, remaining: Math.max(0, limits.concurrency.limit - s.inflight), resetsAt: null });
    }
  }
  for (const rule of limits.quotas) {
    for (const s of pick(rule.scope)) {
      const c = await subjects.period(s, rule.unit, rule.periodText, rule.period, now);
      const used = c.used(now);
      views.push({
        name: rule.name, kind: 'quota', scope: s.kind, unit: rule.unit, limit: rule.limit, used, reserved: c.reserved,
        remaining: Math.max(0, rule.limit - used - c.reserved), resetsAt: iso(c.resetAt(now)), mode: rule.mode, overage: Math.max(0, used - rule.limit),
      });
    }
  }
  if (limits.budget) {
    const c = await subjects.period(customer, 'cost', limits.budget.periodText, limits.budget.period, now);
    const used = c.used(now);
    views.push({ name: `budget-${limits.budget.periodText}`, kind: 'budget', scope: 'customer', unit: `micro-${limits.currency}`, limit: limits.budget.amountMicros, used, reserved: c.reserved, remaining: Math.max(0, limits.budget.amountMicros - used - c.reserved), resetsAt: iso(c.resetAt(now)) });
  }
  if (limits.credits) {
    const c = await subjects.credits(customer);
    const total = creditTotal(c);
    views.push({ name: 'credits', kind: 'credits', scope: 'customer', unit: `micro-${limits.currency}`, limit: total, used: c.spentMicros, reserved: c.reserved, remaining: Math.max(0, total - c.spentMicros - c.reserved), resetsAt: null });
  }
  return views;
}
