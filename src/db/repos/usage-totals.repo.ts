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

/** Sums a key's or customer's ledger rows since `from`; the limits engine's starting point after a restart. */
export function sumSubjectUsage(
  db: Db,
  subject: { keyId: string } | { customerId: string },
  from: number,
  bucketMs: number | null,
): BucketTotals[] | Promise<BucketTotals[]> {
  const who = 'keyId' in subject ? eq(usageEvents.keyId, subject.keyId) : eq(usageEvents.customerId, subject.customerId);
  const bucket = bucketMs ? sql<number>`(${usageEvents.startedAt} / ${bucketMs}) * ${bucketMs}` : sql<number>`${from}`;
  // `.all()` is synchronous on better-sqlite3: the limits engine reads and installs counters without
  // any interleaving settle slipping between the two.
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
    .where(and(who, gte(usageEvents.startedAt, from)))
    .groupBy(bucket)
    .all();
}

/** A customer's credit standing: all grants, all priced usage ever, and when the customer started. */
export interface CreditStanding {
  grantsMicros: number;
  spentMicros: number;
  since: number;
}

/** Reads a customer's credit standing; synchronous on better-sqlite3 (see sumSubjectUsage). */
export function creditStanding(db: Db, customerId: string): CreditStanding | Promise<CreditStanding> {
  const total = (col: typeof creditGrants.amountMicros | typeof usageEvents.costMicros) =>
    sql<number>`coalesce(sum(${col}), 0)`.mapWith(Number);
  const parts = [
    db.select({ n: total(creditGrants.amountMicros) }).from(creditGrants).where(eq(creditGrants.customerId, customerId)).all(),
    db.select({ n: total(usageEvents.costMicros) }).from(usageEvents).where(eq(usageEvents.customerId, customerId)).all(),
    db.select({ n: customers.createdAt }).from(customers).where(eq(customers.id, customerId)).all(),
  ];
  const build = ([g, s, c]: Array<Array<{ n: number }>>) => ({ grantsMicros: g[0]?.n ?? 0, spentMicros: s[0]?.n ?? 0, since: c[0]?.n ?? 0 });
  return parts.some((p) => p instanceof Promise) ? Promise.all(parts).then(build) : build(parts as Array<Array<{ n: number }>>);
}

/** Records a credit grant. */
export async function insertCreditGrant(db: Db, row: typeof creditGrants.$inferInsert): Promise<void> {
  await db.insert(creditGrants).values(row);
}
