import type { Units } from '../../backends/types';
import type { CompiledLimits } from '../../domain/limits/compile';
import { bucketOf, calendarStart } from '../../domain/limits/periods';
import { priceMicros } from '../../domain/limits/pricing';
import type { MinuteTokens } from './counters';
import { creditBalance } from './credits';
import { describeLimits } from './describe';
import { headersFromViews } from './headers';
import type { PlanLimitsCache } from './plan-cache';
import type { SubjectState, SubjectStore } from './subjects';
import { retake, take } from './take';
import { spendOf, thresholdsCrossed } from './thresholds';
import type { AlertSink, LimitCaller, LimitsEngine, LimitView, Reservation, ReserveRequest, ReserveResult } from './types';

const NOTHING: ReserveResult = Object.freeze({ reservation: null, headers: [], tokenCap: null });

/**
 * The in-process limits engine (Node). All checks and all increments of one reservation happen in one
 * synchronous step (take.ts), so concurrent requests can never both take the last unit: a hard limit is
 * exceeded only by what settled calls used beyond their own reservation. Once a caller's counters are in
 * memory, reserving awaits nothing.
 */
export class MemoryLimits implements LimitsEngine {
  /** Refusal-time alerts already handed on (the alert store dedupes too; this keeps a hammering client cheap). */
  private readonly firedOnRefusal = new Set<string>();

  constructor(
    private readonly plans: PlanLimitsCache,
    private readonly subjects: SubjectStore,
    private readonly now: () => number,
    private readonly alerts: AlertSink,
  ) {}

  async reserve(caller: LimitCaller, request: ReserveRequest): Promise<ReserveResult> {
    const limits = this.plans.peek(caller) ?? (await this.plans.get(caller));
    if (limits.empty) return NOTHING;
    const key = this.subjects.get('key', caller.keyId);
    const customer = this.subjects.get('customer', caller.customerId);
    // What the ledger knows is loaded on first use; the check-and-take itself is synchronous.
    while (!this.loaded(limits, key, customer)) await this.load(limits, key, customer);
    return take(limits, request, caller.customerId, key, customer, this.subjects, this.now(), (kind, used, limit) =>
      this.exhausted(limits, caller.customerId, kind, used, limit),
    );
  }

  /**
   * A refusal for spent money is the 100 % moment even when settled spend stopped short of it (calls are
   * refused on their estimated cost): the thresholds up to 100 % fire now, once each per period.
   */
  private exhausted(limits: CompiledLimits, customerId: string, kind: 'budget' | 'credits', usedMicros: number, limitMicros: number): void {
    const rule = kind === 'budget' ? limits.budget : limits.credits;
    if (!rule) return;
    const now = this.now();
    const periodStart = kind === 'budget' ? bucketOf(limits.budget!.period, now) : calendarStart(limits.credits!.every, now);
    for (const pct of rule.alerts) {
      if (pct > 100) continue;
      const once = `${customerId}|${kind}|${pct}|${periodStart}`;
      if (this.firedOnRefusal.has(once)) continue;
      if (this.firedOnRefusal.size > 100_000) this.firedOnRefusal.clear();
      this.firedOnRefusal.add(once);
      this.alerts.crossed({ customerId, kind, thresholdPercent: pct, periodStart, usedMicros, limitMicros, currency: limits.currency, at: now });
    }
  }

  settle(r: Reservation | null, units: Units, billable: boolean): number {
    if (!r || r.settled) return 0;
    r.settled = true;
    const tpm = r.limits.tpm;
    const prompt = billable ? units.promptTokens : 0;
    const completion = billable ? units.completionTokens : 0;
    const predictions = billable ? units.predictions : 0;
    const cost = priceMicros(r.limits.prices, r.model, { promptTokens: prompt, completionTokens: completion, predictions, requests: billable ? 1 : 0 });
    const now = this.now();
    const watched = r.budget !== null || r.credits !== null;
    const before = watched ? spendOf(r, this.creditTotal(r, now), now) : null;
    const actual = {
      tokens: prompt + completion,
      weightedTokens: tpm ? Math.ceil(prompt * tpm.promptWeight + completion * tpm.completionWeight) : 0,
      requests: billable ? 1 : 0,
      predictions,
      cost,
    };
    for (const h of r.holds) {
      h.counter.reserved -= h.amount;
      const n = actual[h.unit];
      if (n === 0 || h.kind !== 'tpm') continue;
      const minute = h.counter as MinuteTokens;
      minute.roll(now);
      minute.used += n;
    }
    // Every period counter and credit state of this key and customer counts the call, held or not: a
    // quota or budget added to the plan mid-period then starts from the ledger's truth, not a stale load.
    for (const s of r.subjects) {
      for (const counter of s.periods.values()) counter.add(r.at, actual[counter.unit]);
      if (s.credits) s.credits.spentMicros += cost;
    }
    for (const slot of r.slots) slot.inflight--;
    for (const s of r.subjects) {
      s.holds--;
      s.lastActive = now;
    }
    if (before) for (const event of thresholdsCrossed(r, before, spendOf(r, this.creditTotal(r, now), now), now)) this.alerts.crossed(event);
    return cost;
  }

  /**
   * Takes again, unchecked, a reservation admitted before a restart and not yet settled (a Durable Object
   * restores its in-flight calls from storage). Null when the caller's plan now limits nothing.
   */
  async restore(caller: LimitCaller, request: ReserveRequest, at: number): Promise<Reservation | null> {
    const limits = await this.plans.get(caller);
    if (limits.empty) return null;
    const key = this.subjects.get('key', caller.keyId);
    const customer = this.subjects.get('customer', caller.customerId);
    while (!this.loaded(limits, key, customer)) await this.load(limits, key, customer);
    return retake(limits, request, caller.customerId, key, customer, this.subjects, at);
  }

  /** The caller's compiled plan limits, with every counter they need loaded (for settleUnreserved). */
  async limitsOf(caller: LimitCaller): Promise<CompiledLimits> {
    const limits = await this.plans.get(caller);
    if (limits.empty) return limits;
    const key = this.subjects.get('key', caller.keyId);
    const customer = this.subjects.get('customer', caller.customerId);
    while (!this.loaded(limits, key, customer)) await this.load(limits, key, customer);
    return limits;
  }

  /**
   * Counts a settled call that holds no reservation here although its plan limits something — its
   * reservation was lost (a restarted Durable Object) or released by the stale-reservation sweep. The
   * call is priced and counted like any settled call; nothing held is released. Returns its cost.
   */
  settleUnreserved(limits: CompiledLimits, caller: LimitCaller, model: string, units: Units, billable: boolean, at: number): number {
    if (limits.empty) return 0;
    const tpm = limits.tpm;
    const prompt = billable ? units.promptTokens : 0;
    const completion = billable ? units.completionTokens : 0;
    const predictions = billable ? units.predictions : 0;
    const cost = priceMicros(limits.prices, model, { promptTokens: prompt, completionTokens: completion, predictions, requests: billable ? 1 : 0 });
    const actual = { tokens: prompt + completion, requests: billable ? 1 : 0, predictions, cost };
    const now = this.now();
    const customer = this.subjects.get('customer', caller.customerId);
    // What the alert thresholds measure, as a reservation of this customer would have held it.
    const spend = {
      limits,
      customerId: caller.customerId,
      budget: limits.budget ? (this.subjects.loadedPeriod(customer, 'cost', limits.budget.periodText) ?? null) : null,
      credits: limits.credits ? this.subjects.loadedCredits(customer) : null,
    } as Reservation;
    const watched = spend.budget !== null || spend.credits !== null;
    const before = watched ? spendOf(spend, this.creditTotal(spend, now), now) : null;
    for (const s of [this.subjects.get('key', caller.keyId), customer]) {
      for (const counter of s.periods.values()) counter.add(at, actual[counter.unit]);
      if (s.credits) s.credits.spentMicros += cost;
      if (tpm) {
        s.tpm.roll(now);
        s.tpm.used += Math.ceil(prompt * tpm.promptWeight + completion * tpm.completionWeight);
      }
      s.lastActive = now;
    }
    if (before) for (const event of thresholdsCrossed(spend, before, spendOf(spend, this.creditTotal(spend, now), now), now)) this.alerts.crossed(event);
    return cost;
  }

  /**
   * Counts a settled call whose plan cannot be read (its store is unreachable) into the counters in memory:
   * requests, tokens and predictions, at no price. Returns its cost, 0.
   */
  countUnpriced(caller: LimitCaller, units: Units, at: number): number {
    const actual = { tokens: units.promptTokens + units.completionTokens, requests: 1, predictions: units.predictions, cost: 0 };
    for (const s of [this.subjects.get('key', caller.keyId), this.subjects.get('customer', caller.customerId)]) {
      for (const counter of s.periods.values()) counter.add(at, actual[counter.unit]);
      s.lastActive = this.now();
    }
    return 0;
  }

  async peekHeaders(caller: LimitCaller): Promise<Array<[string, string]>> {
    const limits = await this.plans.get(caller);
    if (limits.empty) return [];
    return headersFromViews(await this.describe(caller), this.now());
  }

  async describe(caller: LimitCaller): Promise<LimitView[]> {
    const limits = await this.plans.get(caller);
    return describeLimits(limits, caller, this.subjects, this.now(), (c) => creditBalance(c, limits, this.now()) + c.spentMicros);
  }

  /**
   * Drops idle subjects' state now (the composition root also runs this on a timer); an evicted subject
   * is rebuilt from the ledger with identical answers. Returns how many subjects were dropped.
   */
  evictIdle(settleGraceMs?: number): number {
    return this.subjects.evictIdle(this.now(), settleGraceMs);
  }

  /** Keys and customers whose limiter state is in memory (bounded by the active ones). */
  get subjectCount(): number {
    return this.subjects.size;
  }

  /** Whether every counter these limits need is in memory. */
  private loaded(limits: CompiledLimits, key: SubjectState, customer: SubjectState): boolean {
    for (const rule of limits.quotas) {
      if (rule.scope !== 'customer' && !this.subjects.loadedPeriod(key, rule.unit, rule.periodText)) return false;
      if (rule.scope !== 'key' && !this.subjects.loadedPeriod(customer, rule.unit, rule.periodText)) return false;
    }
    if (limits.budget && !this.subjects.loadedPeriod(customer, 'cost', limits.budget.periodText)) return false;
    return !limits.credits || this.subjects.loadedCredits(customer) !== null;
  }

  /** Loads the missing counters from the ledger. */
  private async load(limits: CompiledLimits, key: SubjectState, customer: SubjectState): Promise<void> {
    const at = this.now();
    for (const rule of limits.quotas) {
      if (rule.scope !== 'customer') await this.subjects.period(key, rule.unit, rule.periodText, rule.period, at);
      if (rule.scope !== 'key') await this.subjects.period(customer, rule.unit, rule.periodText, rule.period, at);
    }
    if (limits.budget) await this.subjects.period(customer, 'cost', limits.budget.periodText, limits.budget.period, at);
    if (limits.credits) await this.subjects.credits(customer);
  }

  private creditTotal(r: Reservation, now: number): number {
    return r.credits ? creditBalance(r.credits, r.limits, now) + r.credits.spentMicros : 0;
  }
}

