import { bucketOf, bucketSize, calendarEnd, nextReset, oldestLiveBucket, type Period } from '../../domain/limits/periods';

/** Requests in the current fixed window (aligned to the epoch). Counts attempts, never released. */
export class WindowCounter {
  start = 0;
  count = 0;

  constructor(readonly windowMs: number) {}

  /** Rolls to the window holding `now`. */
  roll(now: number): void {
    const start = now - (now % this.windowMs);
    if (start !== this.start) {
      this.start = start;
      this.count = 0;
    }
  }

  resetAt(): number {
    return this.start + this.windowMs;
  }
}

/** A per-minute token counter with reservations (tokens per minute). */
export class MinuteTokens {
  start = 0;
  used = 0;
  reserved = 0;

  roll(now: number): void {
    const start = now - (now % 60_000);
    if (start !== this.start) {
      this.start = start;
      this.used = 0;
    }
  }

  resetAt(): number {
    return this.start + 60_000;
  }
}

/**
 * Use over a period (calendar or rolling), in buckets, with reservations. `used` is only ever the settled
 * amount, so it equals the ledger's sum for the same period and can be rebuilt from it after a restart.
 */
export class PeriodCounter {
  readonly buckets = new Map<number, number>();
  reserved = 0;

  constructor(
    readonly period: Period,
    /** What it counts: `requests`, `tokens`, `predictions` or `cost` (micro-units). */
    readonly unit: 'requests' | 'tokens' | 'predictions' | 'cost',
  ) {}

  /** Settled use inside the period at `now` (stale buckets are dropped on the way). */
  used(now: number): number {
    const oldest = oldestLiveBucket(this.period, now);
    let sum = 0;
    for (const [bucket, amount] of this.buckets) {
      if (bucket < oldest) this.buckets.delete(bucket);
      else sum += amount;
    }
    return sum;
  }

  /** Adds settled use at time `at` (the call's start, as the ledger buckets it). */
  add(at: number, amount: number): void {
    if (amount === 0) return;
    // Most calls land in the bucket of the previous one: skip the calendar arithmetic then.
    if (at < this.lastStart || at >= this.lastEnd) {
      this.lastStart = bucketOf(this.period, at);
      this.lastEnd = this.period.kind === 'calendar' ? calendarEnd(this.period.unit, this.lastStart) : this.lastStart + bucketSize(this.period)!;
    }
    this.buckets.set(this.lastStart, (this.buckets.get(this.lastStart) ?? 0) + amount);
  }

  private lastStart = 0;
  private lastEnd = 0;

  /** When use next goes down. */
  resetAt(now: number): number {
    let oldest: number | null = null;
    for (const bucket of this.buckets.keys()) if (oldest === null || bucket < oldest) oldest = bucket;
    return nextReset(this.period, now, oldest);
  }
}
