import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { billingOutbox } from '../schema';
import type { Db } from '../types';
import { intLiteral } from './billing-claim.repo';

/** The ledger per customer × window: calls served, billable units, and the part not yet claimed by billing. */
export interface LedgerWindow {
  customerId: string;
  windowStart: number;
  served: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  predictions: number;
  unclaimedRequests: number;
  unclaimedInputTokens: number;
  unclaimedOutputTokens: number;
  unclaimedPredictions: number;
}

/** Outbox value per customer × meter × window × kind × status, and how much of it was already attempted. */
export interface OutboxWindow {
  customerId: string;
  meter: string;
  windowStart: number;
  kind: 'usage' | 'repair';
  status: string;
  value: number;
  attemptedValue: number;
  /** Value delivered at or after `WindowQuery.recentSince`: Stripe's summaries may not count it yet. */
  recentValue: number;
  reasons: string | null;
}

/** A time range [from, to) and a window size, optionally for one customer. */
export interface WindowQuery {
  from: number;
  to: number;
  windowMs: number;
  customerId?: string;
  /** Deliveries since this time count as recent (not yet visible in Stripe's summaries). */
  recentSince?: number;
}

/** Sums the ledger by customer and window (the billable rule matches the claim's: status < 400 or estimated). */
export async function ledgerWindows(db: Db, q: WindowQuery, cursor: number): Promise<LedgerWindow[]> {
  const customer = q.customerId ? sql`and customer_id = ${q.customerId}` : sql``;
  const billable = sql`(status < 400 or estimated = 1)`;
  const after = sql`rowid > ${cursor}`;
  return db.all<LedgerWindow>(sql`
    select customer_id as customerId, (started_at / ${intLiteral(q.windowMs)}) * ${intLiteral(q.windowMs)} as windowStart, count(*) as served,
      sum(${billable}) as requests, sum(prompt_tokens) as inputTokens, sum(completion_tokens) as outputTokens, sum(predictions) as predictions,
      sum(${billable} and ${after}) as unclaimedRequests,
      sum(case when ${after} then prompt_tokens else 0 end) as unclaimedInputTokens,
      sum(case when ${after} then completion_tokens else 0 end) as unclaimedOutputTokens,
      sum(case when ${after} then predictions else 0 end) as unclaimedPredictions
    from usage_events where started_at >= ${q.from} and started_at < ${q.to} ${customer}
    group by customerId, windowStart`);
}

/** Sums the outbox by customer, meter, window (of the bucket start), kind and status. */
export async function outboxWindows(db: Db, q: WindowQuery): Promise<OutboxWindow[]> {
  const windowStart = sql<number>`(${billingOutbox.bucketStart} / ${intLiteral(q.windowMs)}) * ${intLiteral(q.windowMs)}`;
  return db
    .select({
      customerId: billingOutbox.customerId,
      meter: billingOutbox.meter,
      windowStart: windowStart.mapWith(Number),
      kind: billingOutbox.kind,
      status: billingOutbox.status,
      value: sql<number>`sum(${billingOutbox.value})`.mapWith(Number),
      attemptedValue: sql<number>`sum(case when ${billingOutbox.firstAttemptAt} is not null then ${billingOutbox.value} else 0 end)`.mapWith(Number),
      recentValue: sql<number>`sum(case when ${billingOutbox.deliveredAt} >= ${intLiteral(q.recentSince ?? Number.MAX_SAFE_INTEGER)} then ${billingOutbox.value} else 0 end)`.mapWith(Number),
      reasons: sql<string | null>`group_concat(distinct ${billingOutbox.lastError})`,
    })
    .from(billingOutbox)
    .where(and(gte(billingOutbox.bucketStart, q.from), lt(billingOutbox.bucketStart, q.to), q.customerId ? eq(billingOutbox.customerId, q.customerId) : undefined))
    .groupBy(billingOutbox.customerId, billingOutbox.meter, windowStart, billingOutbox.kind, billingOutbox.status);
}
