import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { creditGrants, customers, usageEvents } from '../schema';
import type { Db } from '../types';

/** Billable totals of one key or customer since `from`, per bucket (one bucket when `bucketMs` is null). */
export interface BucketTotals {
  bucket: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  predictions: number;
  costMicros: number;
}

/** The per-bucket totals query of one key or customer over [from, to). */
function subjectUsage(db: Db, subject: { keyId: string } | { customerId: string }, from: number, to: number | null, bucketMs: number | null) {
  const who = 'keyId' in subject ? eq(usageEvents.keyId, subject.keyId) : eq(usageEvents.customerId, subject.customerId);
  const bucket = bucketMs ? sql<number>`(${usageEvents.startedAt} / ${bucketMs}) * ${bucketMs}` : sql<number>`${from}`;
  return db
    .select({
      bucket: bucket.mapWith(Number),
      requests: sql<number>`coalesce(sum(${usageEvents.status} < 400), 0)`.mapWith(Number),
      promptTokens: sql<number>`coalesce(sum(${usageEvents.promptTokens}), 0)`.mapWith(Number),
      completionTokens: sql<number>`coalesce(sum(${usageEvents.completionTokens}), 0)`.mapWith(Number),
      predictions: sql<number>`coalesce(sum(${usageEvents.predictions}), 0)`.mapWith(Number),
      costMicros: sql<number>`coalesce(sum(${usageEvents.costMicros}), 0)`.mapWith(Number),
    })
    .from(usageEvents)
    .where(and(who, gte(usageEvents.startedAt, from), to === null ? undefined : lt(usageEvents.startedAt, to)))
    .groupBy(bucket);
}

/**
 * Sums a key's or customer's ledger rows since `from`; the limits engine's starting point after a restart.
 * Only synchronous drivers (better-sqlite3, a Durable Object's SQLite) hold the ledger the engine reads:
 * `.all()` returns at once, so the engine reads and installs counters with no settle slipping between.
 */
export function sumSubjectUsage(db: Db, subject: { keyId: string } | { customerId: string }, from: number, bucketMs: number | null): BucketTotals[] {
  const rows = subjectUsage(db, subject, from, null, bucketMs).all();
  if (rows instanceof Promise) throw new Error('sumSubjectUsage needs a synchronous SQLite driver');
  return rows as BucketTotals[];
}

/** The same totals over [from, to), from any driver (history that no longer changes, such as D1's copy). */
export async function sumSubjectUsageBetween(
  db: Db,
  subject: { keyId: string } | { customerId: string },
  from: number,
  to: number,
  bucketMs: number | null,
): Promise<BucketTotals[]> {
  return (await subjectUsage(db, subject, from, to, bucketMs)) as BucketTotals[];
}

/** A customer's credit grants in total, and when the customer started (admin data). */
export interface CreditGrants {
  grantsMicros: number;
  since: number;
}

/** Reads a customer's credit grants and start time. */
export async function creditGrantsOf(db: Db, customerId: string): Promise<CreditGrants> {
  const [g] = await db
    .select({ n: sql<number>`coalesce(sum(${creditGrants.amountMicros}), 0)`.mapWith(Number) })
    .from(creditGrants)
    .where(eq(creditGrants.customerId, customerId));
  const [c] = await db.select({ n: customers.createdAt }).from(customers).where(eq(customers.id, customerId));
  return { grantsMicros: g?.n ?? 0, since: c?.n ?? 0 };
}

/** All priced use of a customer ever, in micro-units; synchronous on SQLite drivers (see sumSubjectUsage). */
export function spentMicrosOf(db: Db, customerId: string): number {
  const rows = db
    .select({ n: sql<number>`coalesce(sum(${usageEvents.costMicros}), 0)`.mapWith(Number) })
    .from(usageEvents)
    .where(eq(usageEvents.customerId, customerId))
    .all();
  if (rows instanceof Promise) throw new Error('spentMicrosOf needs a synchronous SQLite driver');
  return (rows as Array<{ n: number }>)[0]?.n ?? 0;
}

/** Records a credit grant. */
export async function insertCreditGrant(db: Db, row: typeof creditGrants.$inferInsert): Promise<void> {
  await db.insert(creditGrants).values(row);
}
