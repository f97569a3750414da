import { and, asc, eq, gt, inArray, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import type { BillingMeter } from '../../domain/billing/meters';
import { billingOutbox, customers, type BillingOutboxRow } from '../schema';
import type { Db } from '../types';

/** An outbox row with the Stripe customer it is billed to (resolved at send time, so a relink applies). */
export type SendableRow = BillingOutboxRow & { stripeCustomerId: string };

/** What `takeSendable` looks at. Times are epoch ms. */
export interface TakeQuery {
  now: number;
  /** Earliest event time Stripe still accepts. */
  earliest: number;
  /** Rows first attempted before this are verified against summaries instead of resent blindly. */
  safeSince: number;
  /** Only buckets ending at or before this (holds open buckets back so they keep absorbing usage). */
  bucketsEndingBy: number;
  meters: BillingMeter[];
  limit: number;
}

const pending = eq(billingOutbox.status, 'pending');
const linked = isNotNull(customers.stripeCustomerId);

/** Marks never-attempted rows whose whole bucket is past Stripe's window as expired; returns them. */
export async function expireUnsendable(db: Db, earliest: number, now: number): Promise<BillingOutboxRow[]> {
  return db
    .update(billingOutbox)
    .set({ status: 'expired', lastError: "older than Stripe's 35-day meter event window", updatedAt: now })
    .where(and(pending, isNull(billingOutbox.firstAttemptAt), lte(billingOutbox.bucketEnd, earliest)))
    .returning();
}

/** Rows that may be sent now: pending, of a linked customer and a set-up meter, due, in Stripe's window, not uncertain. */
function sendable(q: Omit<TakeQuery, 'limit'>) {
  return and(
    pending,
    linked,
    inArray(billingOutbox.meter, q.meters),
    or(isNull(billingOutbox.nextAttemptAt), lte(billingOutbox.nextAttemptAt, q.now)),
    or(isNull(billingOutbox.firstAttemptAt), gt(billingOutbox.firstAttemptAt, q.safeSince)),
    gt(billingOutbox.bucketEnd, q.earliest),
    lte(billingOutbox.bucketEnd, q.bucketsEndingBy),
  );
}

/** How many rows `takeSendable` could take now (the volume that picks v1 or the v2 stream). */
export async function countSendable(db: Db, q: Omit<TakeQuery, 'limit'>): Promise<number> {
  if (q.meters.length === 0) return 0;
  const [row] = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(billingOutbox).innerJoin(customers, eq(customers.id, billingOutbox.customerId)).where(sendable(q));
  return row?.n ?? 0;
}

/**
 * Atomically picks up to `limit` sendable rows and marks them attempted (first attempt time, event time,
 * attempt count), returning the values as committed: from the first attempt on a row's value is frozen,
 * so what is sent is exactly what is recorded.
 */
export async function takeSendable(db: Db, q: TakeQuery): Promise<SendableRow[]> {
  if (q.meters.length === 0) return [];
  const picked = db
    .select({ id: billingOutbox.identifier })
    .from(billingOutbox)
    .innerJoin(customers, eq(customers.id, billingOutbox.customerId))
    .where(sendable(q))
    .orderBy(asc(billingOutbox.customerId), asc(billingOutbox.meter), asc(billingOutbox.bucketStart), asc(billingOutbox.seq))
    .limit(q.limit);
  const rows = await db
    .update(billingOutbox)
    .set({
      firstAttemptAt: sql`coalesce(${billingOutbox.firstAttemptAt}, ${q.now})`,
      // Resends may move the time forward into Stripe's window; it stays inside the bucket (dedup is by identifier).
      eventAt: sql`max(coalesce(${billingOutbox.eventAt}, ${billingOutbox.bucketStart}), ${q.earliest})`,
      attempts: sql`${billingOutbox.attempts} + 1`,
      updatedAt: q.now,
    })
    .where(inArray(billingOutbox.identifier, picked))
    .returning();
  return withStripeIds(db, rows);
}

/** Attaches each row's customer's Stripe id (rows of customers without one are dropped). */
async function withStripeIds(db: Db, rows: BillingOutboxRow[]): Promise<SendableRow[]> {
  if (rows.length === 0) return [];
  const ids = [...new Set(rows.map((r) => r.customerId))];
  const found = await db.select({ id: customers.id, stripe: customers.stripeCustomerId }).from(customers).where(inArray(customers.id, ids));
  const byId = new Map(found.map((f) => [f.id, f.stripe]));
  return rows.flatMap((r) => (byId.get(r.customerId) ? [{ ...r, stripeCustomerId: byId.get(r.customerId)! }] : []));
}

/** Rows that may be at Stripe but can no longer be resent blindly: first attempted before `safeSince`, or now too old to resend. */
export async function takeUncertain(db: Db, safeSince: number, earliest: number, meters: BillingMeter[]): Promise<SendableRow[]> {
  if (meters.length === 0) return [];
  const rows = await db
    .select({ row: billingOutbox })
    .from(billingOutbox)
    .innerJoin(customers, eq(customers.id, billingOutbox.customerId))
    .where(and(pending, linked, inArray(billingOutbox.meter, meters), isNotNull(billingOutbox.firstAttemptAt), or(lte(billingOutbox.firstAttemptAt, safeSince), lte(billingOutbox.bucketEnd, earliest))))
    .orderBy(asc(billingOutbox.customerId), asc(billingOutbox.meter), asc(billingOutbox.bucketStart));
  return withStripeIds(db, rows.map((r) => r.row));
}

/** Every row of one customer × meter × bucket. */
export async function bucketRows(db: Db, customerId: string, meter: BillingMeter, bucketStart: number): Promise<BillingOutboxRow[]> {
  return db
    .select()
    .from(billingOutbox)
    .where(and(eq(billingOutbox.customerId, customerId), eq(billingOutbox.meter, meter), eq(billingOutbox.bucketStart, bucketStart)))
    .orderBy(asc(billingOutbox.seq));
}

/** Sets fields on pending rows (delivered, retry later, parked, expired, re-armed for a fresh send). */
export async function updatePending(db: Db, identifiers: string[], set: Partial<BillingOutboxRow>): Promise<void> {
  for (let i = 0; i < identifiers.length; i += 500) {
    await db.update(billingOutbox).set(set).where(and(pending, inArray(billingOutbox.identifier, identifiers.slice(i, i + 500))));
  }
}

/** Parked rows (a 4xx Stripe will never accept), newest first, optionally of one customer. */
export async function listParkedRows(db: Db, customerId?: string): Promise<BillingOutboxRow[]> {
  const parked = eq(billingOutbox.status, 'parked');
  return db
    .select()
    .from(billingOutbox)
    .where(customerId ? and(parked, eq(billingOutbox.customerId, customerId)) : parked)
    .orderBy(asc(billingOutbox.customerId), asc(billingOutbox.bucketStart));
}

/** Identifiers of the parked rows matching the filter. */
export async function parkedIdentifiers(db: Db, filter: { customerId?: string; identifier?: string }): Promise<string[]> {
  const rows = await db
    .select({ id: billingOutbox.identifier })
    .from(billingOutbox)
    .where(
      and(
        eq(billingOutbox.status, 'parked'),
        filter.customerId ? eq(billingOutbox.customerId, filter.customerId) : undefined,
        filter.identifier ? eq(billingOutbox.identifier, filter.identifier) : undefined,
      ),
    );
  return rows.map((r) => r.id);
}

/** Statement: queues the given parked rows again (rows no longer parked are left alone). */
export function unparkStatement(db: Db, identifiers: string[], now: number) {
  return db
    .update(billingOutbox)
    .set({ status: 'pending', nextAttemptAt: null, updatedAt: now })
    .where(and(eq(billingOutbox.status, 'parked'), inArray(billingOutbox.identifier, identifiers)));
}


/** Row counts and values by status. */
export async function outboxStatusCounts(db: Db): Promise<Array<{ status: string; rows: number; value: number }>> {
  return db
    .select({ status: billingOutbox.status, rows: sql<number>`count(*)`.mapWith(Number), value: sql<number>`coalesce(sum(${billingOutbox.value}), 0)`.mapWith(Number) })
    .from(billingOutbox)
    .groupBy(billingOutbox.status);
}

/** Statement: marks a delivered row canceled at Stripe (a meter event adjustment was accepted). */
export function markCanceledStatement(db: Db, identifier: string, reason: string, now: number) {
  return db.update(billingOutbox).set({ status: 'canceled', lastError: reason, updatedAt: now }).where(and(eq(billingOutbox.status, 'delivered'), eq(billingOutbox.identifier, identifier)));
}

