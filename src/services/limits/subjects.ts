import { creditGrantsOf, spentMicrosOf, sumSubjectUsage, type BucketTotals, type CreditGrants } from '../../db/repos/usage-totals.repo';
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

/**
 * Where the engine's starting points come from. Reads of settled use are synchronous, so the engine
 * reads and installs a counter in one step and no settle can slip in between.
 */
export interface LedgerTotals {
  /** Billable totals of a key or customer since `from`, per bucket. */
  usage(subject: { keyId: string } | { customerId: string }, from: number, bucketMs: number | null): BucketTotals[];
  /**
   * Totals older than what `usage` still holds, when the ledger it reads was pruned (a Durable Object keeps
   * recent rows; D1 has them all). Such history no longer changes, so it may be read asynchronously first.
   */
  history?(subject: { keyId: string } | { customerId: string }, from: number, bucketMs: number | null): Promise<BucketTotals[]>;
  /** Priced use of a customer ever. */
  spent(customerId: string): number;
  /** Credit grants and start of a customer (admin data: may be read asynchronously). */
  grants(customerId: string): Promise<CreditGrants>;
}

/**
 * Totals from a synchronous SQLite ledger (`ledgerDb`) and admin data (`adminDb`); `beforeRead` commits
 * anything the ledger has queued. Node passes its one SQLite file twice; a Durable Object its own storage and D1.
 */
export function sqliteLedgerTotals(ledgerDb: Db, adminDb: Db, beforeRead: () => void = () => {}): LedgerTotals {
  return {
    usage(subject, from, bucketMs) {
      beforeRead();
      return sumSubjectUsage(ledgerDb, subject, from, bucketMs);
    },
    spent(customerId) {
      beforeRead();
      return spentMicrosOf(ledgerDb, customerId);
    },
    grants: (customerId) => creditGrantsOf(adminDb, customerId),
  };
}

const UNITS: CountedUnit[] = ['requests', 'tokens', 'predictions', 'cost'];
const amountOf = (unit: CountedUnit, t: BucketTotals) =>
  unit === 'requests' ? t.requests : unit === 'tokens' ? t.promptTokens + t.completionTokens : unit === 'predictions' ? t.predictions : t.costMicros;

/**
 * Limiter state by subject. Period counters and credits start from the ledger (read synchronously, so no
 * settle can slip in between) — the ledger is the durable record of settled use.
 * Idle subjects are evicted only when evicting cannot change an answer: nothing held, windows expired.
 */
export class SubjectStore {
  private readonly states = new Map<string, SubjectState>();

  constructor(private readonly totals: LedgerTotals) {}

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
    const from = period.kind === 'calendar' ? oldestLiveBucket(period, now) : oldestLiveBucket(period, now) - bucketSize(period)!;
    const subject = state.kind === 'key' ? { keyId: state.id } : { customerId: state.id };
    const older = this.totals.history ? await this.totals.history(subject, from, bucketSize(period)) : [];
    // Another request may have installed the counters while the history was read.
    const again = state.periods.get(`${unit}|${periodText}`);
    if (again) return again;
    const rows = this.totals.usage(subject, from, bucketSize(period));
    for (const u of UNITS) {
      const counter = new PeriodCounter(period, u);
      for (const row of older) counter.add(row.bucket, amountOf(u, row));
      for (const row of rows) counter.add(row.bucket, amountOf(u, row));
      state.periods.set(`${u}|${periodText}`, counter);
    }
    return state.periods.get(`${unit}|${periodText}`)!;
  }

  /** The customer's credit state, loading it from grants and the ledger if needed. */
  async credits(state: SubjectState): Promise<CreditState> {
    if (state.credits && !state.grantsStale) return state.credits;
    const grants = await this.totals.grants(state.id);
    if (state.credits && !state.grantsStale) return state.credits;
    // From here to the end nothing awaits: the spend read and the state installed are one step.
    if (state.credits && state.grantsStale) {
      // Calls in flight settle into this object: refresh its grants in place, keep its exact spend.
      state.credits.grantsMicros = grants.grantsMicros;
      state.credits.since = grants.since;
      state.grantsStale = false;
    }
    state.credits ??= { ...grants, spentMicros: this.totals.spent(state.id), reserved: 0 };
    return state.credits;
  }

  /**
   * Grants may have changed elsewhere: every credit state re-reads its grants on next use. Its spend is
   * kept — every settle counts into it, so it is exact — and never re-summed from the ledger.
   */
  staleGrants(): void {
    for (const state of this.states.values()) if (state.credits) state.grantsStale = true;
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
