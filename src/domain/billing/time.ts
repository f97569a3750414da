import type { BillingMeter } from './meters';

/** One hour and one day, in milliseconds. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Stripe accepts meter event timestamps from the past 35 calendar days. */
export const STRIPE_MAX_EVENT_AGE_MS = 35 * DAY_MS;
/** Margin kept from that limit, so an event stamped now is still accepted when it arrives. */
export const EVENT_AGE_MARGIN_MS = 10 * 60_000;
/**
 * Stripe deduplicates identifiers for at least 24 hours. A row first attempted longer ago than this
 * (24 h less a margin) is checked against meter event summaries before any resend.
 */
export const SAFE_RESEND_WINDOW_MS = 23 * HOUR_MS;

/** Aggregation bucket: Stripe's summary grouping windows, so a bucket is exactly one summary. */
export type BucketSize = 'hour' | 'day';

/** Length of a bucket. */
export function bucketMs(size: BucketSize): number {
  return size === 'day' ? DAY_MS : HOUR_MS;
}

/** The earliest event time Stripe will still accept, with margin, rounded up to a whole second. */
export function earliestEventAt(now: number): number {
  return Math.ceil((now - STRIPE_MAX_EVENT_AGE_MS + EVENT_AGE_MARGIN_MS) / 1000) * 1000;
}

/**
 * The timestamp to send for a bucket: its start, moved forward into Stripe's window when needed (still
 * inside the bucket, so the bucket's summary counts it). Null when no instant of the bucket is sendable.
 */
export function eventTimestampFor(bucketStart: number, bucketEnd: number, now: number): number | null {
  const at = Math.max(bucketStart, earliestEventAt(now));
  return at < bucketEnd ? at : null;
}

/** The deterministic meter event identifier of an outbox row (≤ 100 characters, Stripe's limit). */
export function outboxIdentifier(customerId: string, meter: BillingMeter, bucketStart: number, seq: number): string {
  return `tg_${customerId}_${meter}_${Math.floor(bucketStart / 1000)}_${seq}`;
}

/** `YYYY-MM-DD` of an epoch-ms time, UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Start (epoch ms) of the UTC day holding `ms`. */
export function dayStartOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}
