import { and, eq, gte, sql } from 'drizzle-orm';
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

/**
 * Sums a key's or customer's ledger rows since `from`; the limits engine's starting point after a restart.
 * Only synchronous drivers (better-sqlite3, a Durable Object's SQLite) hold the ledger the engine reads.
 */
export function sumSubjectUsage(
  db: Db,
  subject: { keyId: string } | { customerId: string },
  from: number,
  bucketMs: number | null,
): BucketTotals[] {
  const who = 'keyId' in subject ? eq(usageEvents.keyId, subject.keyId) : eq(usageEvents.customerId, subject.customerId);
  const bucket = bucketMs ? sql<number>`(${usageEvents.startedAt} / ${bucketMs}) * ${bucketMs}` : sql<number>`${from}`;
  // `.all()` is synchronous on better-sqlite3: the limits engine reads and installs counters without
  // any interleaving settle slipping between the two.
  const rows = db
    .select({
      bucket: bucket.mapWith(Number),
      requests: sql<number>`coalesce(sum(${usageEvents.status} < 400), 0)`.mapWith(Number),
      promptTokens: sql<number>`coalesce(sum(${usageEvents.promptTokens}), 0)`.mapWith(Number),
      completionTokens: sql<number>`coalesce(sum(${usageEvents.completionTokens}), 0)`.mapWith(Number),
      predictions: sql<number>`coalesce(sum(${usageEvents.predictions}), 0)`.mapWith(Number),
      costMicros: sql<number>`coalesce(sum(${usageEvents.costMicros}), 0)`.mapWith(Number),
    })
    .from(usageEvents)
    .where(and(who, gte(usageEvents.startedAt, from)))
    .groupBy(bucket)
    .all();
  if (rows instanceof Promise) throw new Error('sumSubjectUsage needs a synchronous SQLite driver');
  return rows as BucketTotals[];
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
