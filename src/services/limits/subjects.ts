import { creditStanding, sumSubjectUsage, type BucketTotals } from '../../db/repos/usage-totals.repo';
import type { Db } from '../../db/types';
import { bucketSize, oldestLiveBucket, type Period } from '../../domain/limits/periods';
import { MinuteTokens, PeriodCounter, WindowCounter } from './counters';

/** The units a period counter can count; `cost` is in micro-units. */
export type CountedUnit = 'requests' | 'tokens' | 'predictions' | 'cost';

/** Prepaid credit state of a customer: balance = grants + refills − spent − reserved. */
export interface CreditState {
  grantsMicros: number;
  spentMicros: number;
  since: number;
  reserved: number;
}

/** All limiter state of one key or one customer. */
export class SubjectState {
  lastActive = 0;
  inflight = 0;
  /** Reservations not yet settled; a subject with any is never evicted. */
  holds = 0;
  readonly windows = new Map<number, WindowCounter>();
  readonly tpm = new MinuteTokens();
  /** Period counters by `${unit}|${periodText}`, rebuilt from the ledger on first use. */
  readonly periods = new Map<string, PeriodCounter>();
  credits: CreditState | null = null;
  /** Grants changed while calls held `credits`: re-read the grants into it on next use (the spend stays). */
  grantsStale = false;

  constructor(readonly kind: 'key' | 'customer', readonly id: string) {}

  window(windowMs: number): WindowCounter {
    let w = this.windows.get(windowMs);
    if (!w) this.windows.set(windowMs, (w = new WindowCounter(windowMs)));
    return w;
  }
}

const UNITS: CountedUnit[] = ['requests', 'tokens', 'predictions', 'cost'];
const amountOf = (unit: CountedUnit, t: BucketTotals) =>
  unit === 'requests' ? t.requests : unit === 'tokens' ? t.promptTokens + t.completionTokens : unit === 'predictions' ? t.predictions : t.costMicros;

/**
 * Limiter state by subject. Period counters and credits start from the ledger (after flushing it, read
 * synchronously, so no settle can slip in between) — the ledger is the durable record of settled use.
 * Idle subjects are evicted only when evicting cannot change an answer: nothing held, windows expired.
 */
export class SubjectStore {
  private readonly states = new Map<string, SubjectState>();

  constructor(
    private readonly db: Db,
    private readonly flushLedger: () => void,
  ) {}

  get(kind: 'key' | 'customer', id: string): SubjectState {
    const key = kind === 'key' ? `k:${id}` : `c:${id}`;
    let state = this.states.get(key);
    if (!state) this.states.set(key, (state = new SubjectState(kind, id)));
    return state;
  }

  /** The subject's counter of `unit` over `period` if it is in memory already (the synchronous path). */
  loadedPeriod(state: SubjectState, unit: CountedUnit, periodText: string): PeriodCounter | undefined {
    return state.periods.get(`${unit}|${periodText}`);
  }

  /** The customer's credit state if it is in memory and current. */
  loadedCredits(state: SubjectState): CreditState | null {
    return state.credits && !state.grantsStale ? state.credits : null;
  }

  /** The subject's counter of `unit` over `period`, loading that period from the ledger if needed. */
  async period(state: SubjectState, unit: CountedUnit, periodText: string, period: Period, now: number): Promise<PeriodCounter> {
    const existing = state.periods.get(`${unit}|${periodText}`);
    if (existing) return existing;
    this.flushLedger();
    const from = period.kind === 'calendar' ? oldestLiveBucket(period, now) : oldestLiveBucket(period, now) - bucketSize(period)!;
    const subject = state.kind === 'key' ? { keyId: state.id } : { customerId: state.id };
    const loaded = sumSubjectUsage(this.db, subject, from, bucketSize(period));
    const rows = loaded instanceof Promise ? await loaded : loaded;
    // Another request may have installed the counters while we awaited (async stores only).
    const again = state.periods.get(`${unit}|${periodText}`);
    if (again) return again;
    for (const u of UNITS) {
      const counter = new PeriodCounter(period, u);
      for (const row of rows) counter.add(row.bucket, amountOf(u, row));
      state.periods.set(`${u}|${periodText}`, counter);
    }
    return state.periods.get(`${unit}|${periodText}`)!;
  }

  /** The customer's credit state, loading it from grants and the ledger if needed. */
  async credits(state: SubjectState): Promise<CreditState> {
    if (state.credits && !state.grantsStale) return state.credits;
    this.flushLedger();
    const loaded = creditStanding(this.db, state.id);
    const standing = loaded instanceof Promise ? await loaded : loaded;
    if (state.credits && state.grantsStale) {
      // Calls in flight settle into this object: refresh its grants in place, keep its exact spend.
      state.credits.grantsMicros = standing.grantsMicros;
      state.credits.since = standing.since;
      state.grantsStale = false;
    }
    state.credits ??= { ...standing, reserved: 0 };
    return state.credits;
  }

  /**
   * Forgets credit states (grants changed elsewhere). A state that reservations hold is kept (they settle
   * into it) and only its grants are re-read on next use.
   */
  dropCredits(): void {
    for (const state of this.states.values()) {
      if (state.holds === 0) state.credits = null;
      else if (state.credits) state.grantsStale = true;
    }
  }

  /** Evicts subjects idle long enough that their state would be rebuilt identically. */
  evictIdle(now: number, settleGraceMs = 5_000): number {
    let evicted = 0;
    for (const [key, state] of this.states) {
      if (state.holds > 0 || state.inflight > 0 || now - state.lastActive < settleGraceMs) continue;
      let live = now < state.tpm.resetAt() && state.tpm.used > 0;
      for (const w of state.windows.values()) if (now < w.resetAt() && w.count > 0) live = true;
      if (live) continue;
      this.states.delete(key);
      evicted++;
    }
    return evicted;
  }

  get size(): number {
    return this.states.size;
  }
}
