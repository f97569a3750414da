import type { CompiledLimits, Scope } from '../../domain/limits/compile';
import { priceMicros } from '../../domain/limits/pricing';
import { ServiceError } from '../../domain/errors';
import type { PeriodCounter } from './counters';
import { creditBalance } from './credits';
import { rateLimitHeaders, type HeaderInputs } from './headers';
import type { CreditState, SubjectState, SubjectStore } from './subjects';
import type { Hold, HeldUnit, Reservation, ReserveRequest, ReserveResult } from './types';

type RefusalCode = 'rate_limited' | 'concurrency_limited' | 'tokens_limited' | 'insufficient_quota';
interface Refusal { code: RefusalCode; message: string; retryAt: number | null }

const secondsUntil = (at: number, now: number) => Math.max(1, Math.ceil((at - now) / 1000));

/**
 * Checks every limit and, if all have room, takes the call's share of each — in one synchronous step, so
 * no other call can interleave. Counters must be in memory (the engine loads them first). Throws the
 * 429 that says why when something has no room; a refused call takes nothing.
 */
export function take(
  limits: CompiledLimits,
  request: ReserveRequest,
  customerId: string,
  key: SubjectState,
  customer: SubjectState,
  subjects: SubjectStore,
  now: number,
  /** Told when the budget or the credits refuse a call: the money is spent, whatever the alerts measured. */
  exhausted: (kind: 'budget' | 'credits', usedMicros: number, limitMicros: number) => void = () => {},
): ReserveResult {
  const onlyKey = [key];
  const onlyCustomer = [customer];
  const both = [key, customer];
  const pick = (scope: Scope) => (scope === 'key' ? onlyKey : scope === 'customer' ? onlyCustomer : both);
  const tpm = limits.tpm;
  const { tokens, weighted, cost } = sizeOf(limits, request);
  const inputs: HeaderInputs = { rates: [], tpm: null, quotas: [] };
  let refusals: Refusal[] | null = null;
  const refuse = (code: RefusalCode, message: string, retryAt: number | null) => (refusals ??= []).push({ code, message, retryAt });

  for (const rule of limits.rates) {
    for (const s of pick(rule.scope)) {
      const w = s.window(rule.windowMs);
      w.roll(now);
      inputs.rates.push({ name: rule.scope === 'both' ? `${rule.name}-${s.kind}` : rule.name, limit: rule.limit, taken: w.count + 1, windowMs: rule.windowMs, resetAt: w.resetAt() });
      if (w.count + 1 > rule.limit) refuse('rate_limited', `Rate limit reached: ${rule.limit} requests per ${rule.name.slice('requests-'.length)}.`, w.resetAt());
    }
  }
  if (tpm) {
    for (const s of pick(tpm.scope)) {
      s.tpm.roll(now);
      const taken = s.tpm.used + s.tpm.reserved + weighted;
      inputs.tpm = { limit: tpm.limit, taken, resetAt: s.tpm.resetAt() };
      if (weighted > tpm.limit) refuse('tokens_limited', `This request may use ${weighted} tokens, more than the ${tpm.limit} allowed per minute; lower max_tokens.`, null);
      else if (taken > tpm.limit) refuse('tokens_limited', `Token rate limit reached: ${tpm.limit} tokens per minute.`, s.tpm.resetAt());
    }
  }
  if (limits.concurrency) {
    for (const s of pick(limits.concurrency.scope)) {
      if (s.inflight + 1 > limits.concurrency.limit) refuse('concurrency_limited', `At most ${limits.concurrency.limit} requests may be in flight at once.`, now + 1000);
    }
  }
  const quotaCounters: PeriodCounter[][] = [];
  for (const rule of limits.quotas) {
    const need = rule.unit === 'requests' ? 1 : rule.unit === 'tokens' ? tokens : request.predictions;
    const counters = pick(rule.scope).map((s) => subjects.loadedPeriod(s, rule.unit, rule.periodText)!);
    quotaCounters.push(counters);
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i];
      const taken = c.used(now) + c.reserved + need;
      if (rule.unit === 'requests') {
        // A `both` quota is two policies, named apart (pick() lists the key first).
        inputs.quotas.push({ name: rule.scope === 'both' ? `${rule.name}-${i === 0 ? 'key' : 'customer'}` : rule.name, limit: rule.limit, taken, resetAt: c.resetAt(now) });
      }
      if (rule.mode === 'hard' && taken > rule.limit) {
        refuse('insufficient_quota', `The ${rule.unit} quota (${rule.limit} per ${rule.periodText}) is used up; it resets at ${new Date(c.resetAt(now)).toISOString()}.`, null);
      }
    }
  }
  const budget = limits.budget ? subjects.loadedPeriod(customer, 'cost', limits.budget.periodText)! : null;
  if (budget && budget.used(now) + budget.reserved + cost > limits.budget!.amountMicros) {
    refuse('insufficient_quota', `The budget for this ${limits.budget!.periodText} is spent.`, null);
    exhausted('budget', budget.used(now), limits.budget!.amountMicros);
  }
  const credits = limits.credits ? subjects.loadedCredits(customer)! : null;
  if (credits && creditBalance(credits, limits, now) - credits.reserved - cost < 0) {
    refuse('insufficient_quota', 'Prepaid credits are used up.', null);
    exhausted('credits', credits.spentMicros, creditBalance(credits, limits, now) + credits.spentMicros);
  }

  if (refusals) throw refusalError(refusals, inputs, weighted, now);
  const headers = rateLimitHeaders(inputs, now, limits);
  for (const rule of limits.rates) for (const s of pick(rule.scope)) s.window(rule.windowMs).count++;
  const reservation = hold(limits, request, customerId, both, pick, quotaCounters, budget, credits, tokens, weighted, cost, now);
  return { reservation, headers, tokenCap: limits.tokenCap };
}

/**
 * Takes a reservation's holds and slots again, unchecked: a restarted Durable Object restores the calls
 * it had admitted and not yet settled (their request windows are restored separately). Counters must be
 * in memory.
 */
export function retake(
  limits: CompiledLimits,
  request: ReserveRequest,
  customerId: string,
  key: SubjectState,
  customer: SubjectState,
  subjects: SubjectStore,
  at: number,
): Reservation {
  const both = [key, customer];
  const pick = (scope: Scope) => (scope === 'key' ? [key] : scope === 'customer' ? [customer] : both);
  const { tokens, weighted, cost } = sizeOf(limits, request);
  const quotaCounters = limits.quotas.map((rule) => pick(rule.scope).map((s) => subjects.loadedPeriod(s, rule.unit, rule.periodText)!));
  const budget = limits.budget ? subjects.loadedPeriod(customer, 'cost', limits.budget.periodText)! : null;
  const credits = limits.credits ? subjects.loadedCredits(customer)! : null;
  return hold(limits, request, customerId, both, pick, quotaCounters, budget, credits, tokens, weighted, cost, at);
}

/** What a call may use at most: tokens (prompt + completion cap), TPM-weighted tokens, and cost. */
function sizeOf(limits: CompiledLimits, request: ReserveRequest): { tokens: number; weighted: number; cost: number } {
  const maxTokens = (request.maxTokens ?? limits.defaultMaxTokens) * (request.choices ?? 1);
  const tpm = limits.tpm;
  const hasPrices = limits.budget !== null || limits.credits !== null;
  return {
    tokens: request.promptTokens + maxTokens,
    weighted: tpm ? Math.ceil(request.promptTokens * tpm.promptWeight + maxTokens * tpm.completionWeight) : 0,
    cost: hasPrices ? priceMicros(limits.prices, request.model, { promptTokens: request.promptTokens, completionTokens: maxTokens, predictions: request.predictions, requests: 1 }) : 0,
  };
}

/** Holds a call's share of every counter and takes its concurrency slots; builds the reservation. */
function hold(
  limits: CompiledLimits,
  request: ReserveRequest,
  customerId: string,
  both: SubjectState[],
  pick: (scope: Scope) => SubjectState[],
  quotaCounters: PeriodCounter[][],
  budget: PeriodCounter | null,
  credits: CreditState | null,
  tokens: number,
  weighted: number,
  cost: number,
  now: number,
): Reservation {
  const tpm = limits.tpm;
  const holds: Hold[] = [];
  const take = (counter: { reserved: number }, amount: number, unit: HeldUnit, kind: Hold['kind']) => {
    counter.reserved += amount;
    holds.push({ counter, amount, unit, kind });
  };
  const slots: SubjectState[] = [];
  if (tpm) for (const s of pick(tpm.scope)) take(s.tpm, weighted, 'weightedTokens', 'tpm');
  if (limits.concurrency) for (const s of pick(limits.concurrency.scope)) { s.inflight++; slots.push(s); }
  for (let q = 0; q < limits.quotas.length; q++) {
    const rule = limits.quotas[q];
    const amount = rule.unit === 'requests' ? 1 : rule.unit === 'tokens' ? tokens : request.predictions;
    for (const c of quotaCounters[q]) take(c, amount, rule.unit, 'period');
  }
  if (budget) take(budget, cost, 'cost', 'period');
  if (credits) take(credits, cost, 'cost', 'credits');
  for (const s of both) { s.holds++; s.lastActive = now; }
  return { limits, model: request.model, customerId, request, slots, holds, subjects: both, budget, credits, at: now, settled: false };
}

/**
 * The refusal to answer with. Refusals that waiting does not cure win (quota and money first), so the
 * client must not retry into them; otherwise the one that lifts last, so Retry-After is never early. The
 * fields report what is left without this call, since a refused call takes nothing.
 */
function refusalError(refusals: Refusal[], inputs: HeaderInputs, weighted: number, now: number): ServiceError {
  const final = refusals.find((r) => r.code === 'insufficient_quota') ?? refusals.find((r) => r.retryAt === null);
  const chosen = final ?? refusals.reduce((a, b) => (b.retryAt! > a.retryAt! ? b : a));
  const without: HeaderInputs = {
    rates: inputs.rates.map((r) => ({ ...r, taken: r.taken - 1 })),
    tpm: inputs.tpm && { ...inputs.tpm, taken: inputs.tpm.taken - weighted },
    quotas: inputs.quotas.map((q) => ({ ...q, taken: q.taken - 1 })),
  };
  const retry: Array<[string, string]> = chosen.retryAt === null ? [['x-should-retry', 'false']] : [['retry-after', String(secondsUntil(chosen.retryAt, now))]];
  return new ServiceError(chosen.code, chosen.message, null, [...retry, ...rateLimitHeaders(without, now)]);
}
