/** A quota or budget period: a calendar period in UTC, or a rolling window. */
export type Period = { kind: 'calendar'; unit: 'day' | 'week' | 'month' } | { kind: 'rolling'; ms: number };

const DAY = 86_400_000;
/** Rolling windows are counted in this many buckets; the window edge is exact to one bucket. */
export const ROLLING_BUCKETS = 30;

/** Parses `day`, `week`, `month` or `rolling:<n><s|m|h|d>`; months by default. */
export function parsePeriod(text: string | undefined): Period {
  if (!text || text === 'month' || text === 'day' || text === 'week') return { kind: 'calendar', unit: (text ?? 'month') as 'month' };
  const match = /^rolling:(\d+)([smhd])$/.exec(text);
  if (!match) throw new Error(`bad period '${text}'`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: DAY }[match[2] as 's'];
  return { kind: 'rolling', ms: Number(match[1]) * unit };
}

/** Start of the calendar period holding `now` (UTC; weeks start on Monday). */
export function calendarStart(unit: 'day' | 'week' | 'month', now: number): number {
  const d = new Date(now);
  if (unit === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return unit === 'day' ? day : day - ((d.getUTCDay() + 6) % 7) * DAY;
}

/** End (exclusive) of the calendar period holding `now`. */
export function calendarEnd(unit: 'day' | 'week' | 'month', now: number): number {
  if (unit === 'day') return calendarStart('day', now) + DAY;
  if (unit === 'week') return calendarStart('week', now) + 7 * DAY;
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Size of one counting bucket: the whole period for calendar periods, 1/30 of a rolling window. */
export function bucketSize(period: Period): number | null {
  return period.kind === 'rolling' ? Math.max(1_000, Math.ceil(period.ms / ROLLING_BUCKETS)) : null;
}

/** The bucket a call at `at` counts in. */
export function bucketOf(period: Period, at: number): number {
  if (period.kind === 'calendar') return calendarStart(period.unit, at);
  const size = bucketSize(period)!;
  return Math.floor(at / size) * size;
}

/** Oldest bucket still inside the period at `now`. */
export function oldestLiveBucket(period: Period, now: number): number {
  if (period.kind === 'calendar') return calendarStart(period.unit, now);
  const size = bucketSize(period)!;
  return Math.floor((now - period.ms) / size) * size + size;
}

/** When the period's current use next goes down: its end, or for rolling windows when the oldest bucket leaves. */
export function nextReset(period: Period, now: number, oldestUsedBucket: number | null): number {
  if (period.kind === 'calendar') return calendarEnd(period.unit, now);
  const size = bucketSize(period)!;
  return (oldestUsedBucket ?? Math.floor(now / size) * size) + period.ms + size;
}

/** Number of refill periods started from `since` up to `now`, inclusive of both ends' periods. */
export function periodsElapsed(unit: 'day' | 'week' | 'month', since: number, now: number): number {
  if (now < since) return 0;
  if (unit === 'month') {
    const a = new Date(since);
    const b = new Date(now);
    return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth()) + 1;
  }
  const size = unit === 'day' ? DAY : 7 * DAY;
  return Math.floor((calendarStart(unit, now) - calendarStart(unit, since)) / size) + 1;
}
