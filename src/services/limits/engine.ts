import type { Units } from '../../backends/types';
import type { CompiledLimits, Scope } from '../../domain/limits/compile';
import { periodsElapsed } from '../../domain/limits/periods';
import { priceMicros } from '../../domain/limits/pricing';
import { ServiceError } from '../../domain/errors';
import { describeLimits } from './describe';
import { headersFromViews, rateLimitHeaders, type HeaderInputs } from './headers';
import type { PlanLimitsCache } from './plan-cache';
import type { CreditState, SubjectState, SubjectStore } from './subjects';
import { spendOf, thresholdsCrossed } from './thresholds';
import type { AlertSink, Hold, LimitCaller, LimitsEngine, LimitView, Reservation, ReserveRequest } from './types';

type RefusalCode = 'rate_limited' | 'concurrency_limited' | 'tokens_limited' | 'insufficient_quota';
const secondsUntil = (at: number, now: number) => Math.max(1, Math.ceil((at - now) / 1000));

/**
 * The in-process limits engine (Node). All checks and all increments of one reservation happen in one
 * synchronous step, so concurrent requests can never both take the last unit: a hard limit is exceeded
 * only by what settled calls used beyond their own reservation.
 */
export class MemoryLimits implements LimitsEngine {
  constructor(
    private readonly plans: PlanLimitsCache,
    private readonly subjects: SubjectStore,
    private readonly now: () => number,
    private readonly alerts: AlertSink,
  ) {}

  async reserve(caller: LimitCaller, request: ReserveRequest): Promise<{ reservation: Reservation | null; headers: Array<[string, string]> }> {
    const limits = await this.plans.get(caller);
    if (limits.empty) return { reservation: null, headers: [] };
    const key = this.subjects.get('key', caller.keyId);
    const customer = this.subjects.get('customer', caller.customerId);
    const pick = (scope: Scope) => (scope === 'key' ? [key] : scope === 'customer' ? [customer] : [key, customer]);
    // What the ledger knows is loaded on first use; from here on everything is synchronous.
    const loadAt = this.now();
    const quotas = [];
    for (const rule of limits.quotas) {
      const counters = [];
      for (const s of pick(rule.scope)) counters.push(await this.subjects.period(s, rule.unit, rule.periodText, rule.period, loadAt));
      quotas.push({ rule, counters });
    }
    const budget = limits.budget ? await this.subjects.period(customer, 'cost', limits.budget.periodText, limits.budget.period, loadAt) : null;
    const credits = limits.credits ? await this.subjects.credits(customer) : null;

    const now = this.now();
    const maxTokens = request.maxTokens ?? limits.defaultMaxTokens;
    const tokens = request.promptTokens + maxTokens;
    const weighted = limits.tpm ? Math.ceil(request.promptTokens * limits.tpm.promptWeight + maxTokens * limits.tpm.completionWeight) : 0;
    const cost = priceMicros(limits.prices, request.model, { promptTokens: request.promptTokens, completionTokens: maxTokens, predictions: request.predictions, requests: 1 });
    const inputs: HeaderInputs = { rates: [], tpm: null, quotas: [] };
    const refusals: Array<{ error: ServiceError; retryAt: number | null }> = [];
    const refuse = (code: RefusalCode, message: string, retryAt: number | null) =>
      refusals.push({
        error: new ServiceError(code, message, null, retryAt === null ? [['x-should-retry', 'false']] : [['retry-after', String(secondsUntil(retryAt, now))]]),
        retryAt,
      });

    for (const rule of limits.rates) {
      for (const s of pick(rule.scope)) {
        const w = s.window(rule.windowMs);
        w.roll(now);
        inputs.rates.push({ name: rule.scope === 'both' ? `${rule.name}-${s.kind}` : rule.name, limit: rule.limit, taken: w.count + 1, windowMs: rule.windowMs, resetAt: w.resetAt() });
        if (w.count + 1 > rule.limit) refuse('rate_limited', `Rate limit reached: ${rule.limit} requests per ${rule.name.slice('requests-'.length)}.`, w.resetAt());
      }
    }
    if (limits.tpm) {
      for (const s of pick(limits.tpm.scope)) {
        s.tpm.roll(now);
        const taken = s.tpm.used + s.tpm.reserved + weighted;
        inputs.tpm = { limit: limits.tpm.limit, taken, resetAt: s.tpm.resetAt() };
        if (weighted > limits.tpm.limit) refuse('tokens_limited', `This request may use ${weighted} tokens, more than the ${limits.tpm.limit} allowed per minute; lower max_tokens.`, null);
        else if (taken > limits.tpm.limit) refuse('tokens_limited', `Token rate limit reached: ${limits.tpm.limit} tokens per minute.`, s.tpm.resetAt());
      }
    }
    if (limits.concurrency) {
      for (const s of pick(limits.concurrency.scope)) {
        if (s.inflight + 1 > limits.concurrency.limit) refuse('concurrency_limited', `At most ${limits.concurrency.limit} requests may be in flight at once.`, now + 1000);
      }
    }
    for (const { rule, counters } of quotas) {
      const need = rule.unit === 'requests' ? 1 : rule.unit === 'tokens' ? tokens : request.predictions;
      for (const [i, c] of counters.entries()) {
        const taken = c.used(now) + c.reserved + need;
        // Like rates: a `both` quota is two policies, named apart (pick() lists the key first).
        const name = rule.scope === 'both' ? `${rule.name}-${i === 0 ? 'key' : 'customer'}` : rule.name;
        if (rule.unit === 'requests') inputs.quotas.push({ name, limit: rule.limit, taken, resetAt: c.resetAt(now) });
        if (rule.mode === 'hard' && taken > rule.limit) {
          refuse('insufficient_quota', `The ${rule.unit} quota (${rule.limit} per ${rule.periodText}) is used up; it resets at ${new Date(c.resetAt(now)).toISOString()}.`, null);
        }
      }
    }
    if (budget && limits.budget && budget.used(now) + budget.reserved + cost > limits.budget.amountMicros) {
      refuse('insufficient_quota', `The budget for this ${limits.budget.periodText} is spent.`, null);
    }
    if (credits && creditBalance(credits, limits, now) - credits.reserved - cost < 0) refuse('insufficient_quota', 'Prepaid credits are used up.', null);

    // A refused call takes nothing, so its answer reports what is left without it.
    const headers = rateLimitHeaders(refusals.length ? withoutThisCall(inputs, weighted) : inputs, now);
    if (refusals.length) {
      // Refusals that waiting does not cure win (quota and money first), so the client must not retry
      // into them; otherwise the one that lifts last, so Retry-After is never earlier than every reset.
      const final = refusals.find((r) => r.error.code === 'insufficient_quota') ?? refusals.find((r) => r.retryAt === null);
      const chosen = (final ?? refusals.reduce((a, b) => (b.retryAt! > a.retryAt! ? b : a))).error;
      throw new ServiceError(chosen.code, chosen.message, null, [...chosen.headers, ...headers]);
    }

    const subjects = key === customer ? [key] : [key, customer];
    const r: Reservation = {
      limits, model: request.model, customerId: caller.customerId, request, estimatedCostMicros: cost, slots: [],
      holds: { tokens: [], weightedTokens: [], requests: [], predictions: [], cost: [] },
      subjects, budget, credits, at: now, settled: false,
    };
    for (const rule of limits.rates) for (const s of pick(rule.scope)) s.window(rule.windowMs).count++;
    if (limits.tpm) for (const s of pick(limits.tpm.scope)) r.holds.weightedTokens.push(hold(s.tpm, weighted, (n) => { s.tpm.roll(this.now()); s.tpm.used += n; }));
    if (limits.concurrency) for (const s of pick(limits.concurrency.scope)) { s.inflight++; r.slots.push(s); }
    for (const { rule, counters } of quotas) {
      const amount = rule.unit === 'requests' ? 1 : rule.unit === 'tokens' ? tokens : request.predictions;
      for (const c of counters) r.holds[rule.unit].push(hold(c, amount, (n) => c.add(now, n)));
    }
    if (budget) r.holds.cost.push(hold(budget, cost, (n) => budget.add(now, n)));
    if (credits) r.holds.cost.push(hold(credits, cost, (n) => { credits.spentMicros += n; }));
    for (const s of subjects) { s.holds++; s.lastActive = now; }
    return { reservation: r, headers };
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
    const before = spendOf(r, this.creditLimit(r, now), now);
    const actual = {
      tokens: prompt + completion,
      weightedTokens: tpm ? Math.ceil(prompt * tpm.promptWeight + completion * tpm.completionWeight) : 0,
      requests: billable ? 1 : 0,
      predictions,
      cost,
    };
    for (const unit of Object.keys(r.holds) as Array<keyof Reservation['holds']>) {
      for (const h of r.holds[unit]) {
        h.counter.reserved -= h.amount;
        h.commit(actual[unit]);
      }
    }
    for (const slot of r.slots) slot.inflight--;
    for (const s of r.subjects) { s.holds--; s.lastActive = now; }
    for (const event of thresholdsCrossed(r, before, spendOf(r, this.creditLimit(r, now), now), now)) this.alerts.crossed(event);
    return cost;
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

  private creditLimit(r: Reservation, now: number): number {
    return r.credits ? creditBalance(r.credits, r.limits, now) + r.credits.spentMicros : 0;
  }
}

/** The same limit states less the current call (rates and request quotas count it as 1, TPM as `weighted`). */
function withoutThisCall(inputs: HeaderInputs, weighted: number): HeaderInputs {
  return {
    rates: inputs.rates.map((r) => ({ ...r, taken: r.taken - 1 })),
    tpm: inputs.tpm && { ...inputs.tpm, taken: inputs.tpm.taken - weighted },
    quotas: inputs.quotas.map((q) => ({ ...q, taken: q.taken - 1 })),
  };
}

function hold(counter: { reserved: number }, amount: number, commit: (actual: number) => void): Hold {
  counter.reserved += amount;
  return { counter, amount, commit };
}

/** Credits available before reservations: grants + refills since the customer started − spent. */
export function creditBalance(credits: Pick<CreditState, 'grantsMicros' | 'spentMicros' | 'since'>, limits: CompiledLimits, now: number): number {
  const c = limits.credits;
  const refills = c && c.refillMicros > 0 ? c.refillMicros * periodsElapsed(c.every, credits.since, now) : 0;
  return credits.grantsMicros + refills - credits.spentMicros;
}

export type { SubjectState };
