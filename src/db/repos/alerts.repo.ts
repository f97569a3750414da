import { and, asc, desc, eq, getTableColumns, lte, sql, type SQL } from 'drizzle-orm';
import { alertEvents, customers, webhookDeliveries, type AlertEventRow, type WebhookDeliveryRow } from '../schema';
import type { Db } from '../types';
import { runAtomic } from '../atomic';

/**
 * Records a threshold crossing once: the event is inserted unless its (customer, kind, threshold, period)
 * is already there, and only a newly inserted event gets a webhook delivery — and only if the customer
 * has a webhook URL (read in the same statement, so the pair commits together or not at all).
 */
export async function recordAlertEvent(db: Db, event: AlertEventRow, deliveryId: string): Promise<void> {
  const values: Record<keyof WebhookDeliveryRow, SQL> = {
    id: sql`${deliveryId}`, eventId: sql`${alertEvents.id}`, customerId: sql`${alertEvents.customerId}`, url: sql`${customers.webhookUrl}`,
    status: sql`'pending'`, attempts: sql`0`, nextAttemptAt: sql`${event.createdAt}`, lastStatus: sql`null`, lastError: sql`null`,
    deliveredAt: sql`null`, createdAt: sql`${event.createdAt}`,
  };
  // INSERT … SELECT takes the values in the table's column order.
  const columns = Object.keys(getTableColumns(webhookDeliveries)) as Array<keyof WebhookDeliveryRow>;
  await runAtomic(db, [
    db.insert(alertEvents).values(event).onConflictDoNothing(),
    db.insert(webhookDeliveries).select(sql`
      select ${sql.join(columns.map((c) => values[c]), sql`, `)}
      from ${alertEvents} join ${customers} on ${customers.id} = ${alertEvents.customerId}
      where ${alertEvents.id} = ${event.id} and ${customers.webhookUrl} is not null`),
  ]);
}

/** A delivery that is due, with what sending it needs. */
export interface DueDelivery {
  delivery: WebhookDeliveryRow;
  payload: string;
  secret: string | null;
}

/** Pending deliveries whose next attempt is due at `now`, oldest due first. */
export async function dueDeliveries(db: Db, now: number, limit: number): Promise<DueDelivery[]> {
  const rows = await db
    .select({ delivery: webhookDeliveries, payload: alertEvents.payload, secret: customers.webhookSecret })
    .from(webhookDeliveries)
    .innerJoin(alertEvents, eq(alertEvents.id, webhookDeliveries.eventId))
    .leftJoin(customers, eq(customers.id, webhookDeliveries.customerId))
    .where(and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, now)))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit);
  return rows;
}

/**
 * Takes a due delivery for one attempt by moving its next attempt to `leaseUntil`; true only for the one
 * claimer that found it unchanged (a crashed attempt is simply retried once the lease has passed).
 */
export async function claimDelivery(db: Db, row: WebhookDeliveryRow, leaseUntil: number): Promise<boolean> {
  const result = await db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: leaseUntil })
    .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.status, 'pending'), eq(webhookDeliveries.nextAttemptAt, row.nextAttemptAt!)));
  return changedRows(result) === 1;
}

/** What one attempt changed on its delivery. */
export type AttemptOutcome = Pick<WebhookDeliveryRow, 'status' | 'attempts' | 'nextAttemptAt' | 'lastStatus' | 'lastError' | 'deliveredAt'>;

/** Writes an attempt's outcome. */
export async function finishAttempt(db: Db, id: string, outcome: AttemptOutcome): Promise<void> {
  await db.update(webhookDeliveries).set(outcome).where(eq(webhookDeliveries.id, id));
}

/** Which deliveries or events to list. */
export interface AlertFilter {
  customerId?: string;
  status?: WebhookDeliveryRow['status'];
  limit?: number;
}

/** Webhook deliveries, newest first. */
export async function listDeliveries(db: Db, filter: AlertFilter): Promise<WebhookDeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        filter.customerId ? eq(webhookDeliveries.customerId, filter.customerId) : undefined,
        filter.status ? eq(webhookDeliveries.status, filter.status) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(filter.limit ?? 100);
}

/** Alert events, newest first. */
export async function listAlertEvents(db: Db, filter: Omit<AlertFilter, 'status'>): Promise<AlertEventRow[]> {
  return db
    .select()
    .from(alertEvents)
    .where(filter.customerId ? eq(alertEvents.customerId, filter.customerId) : undefined)
    .orderBy(desc(alertEvents.createdAt), desc(alertEvents.id))
    .limit(filter.limit ?? 100);
}

/** Rows changed by an UPDATE, from either driver's result (better-sqlite3 `changes`, D1 `meta.changes`). */
function changedRows(result: unknown): number {
  const r = result as { changes?: number; meta?: { changes?: number } };
  return r.changes ?? r.meta?.changes ?? 0;
}
