import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { idColumn, timeColumn } from './columns';

/** A threshold crossing (budget or credits). Unique per customer, kind, threshold and period: fires once. */
export const alertEvents = sqliteTable(
  'alert_events',
  {
    id: idColumn(),
    customerId: text('customer_id').notNull(),
    kind: text('kind', { enum: ['budget', 'credits'] }).notNull(),
    thresholdPercent: integer('threshold_percent').notNull(),
    periodStart: timeColumn('period_start').notNull(),
    payload: text('payload').notNull(),
    createdAt: timeColumn('created_at').notNull(),
  },
  (t) => [uniqueIndex('alert_events_once_idx').on(t.customerId, t.kind, t.thresholdPercent, t.periodStart)],
);

/** Webhook delivery attempts for alert events; retried with backoff until delivered or given up. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: idColumn(),
    eventId: text('event_id').notNull(),
    customerId: text('customer_id').notNull(),
    url: text('url').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timeColumn('next_attempt_at'),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deliveredAt: timeColumn('delivered_at'),
    createdAt: timeColumn('created_at').notNull(),
  },
  (t) => [index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt)],
);

export type AlertEventRow = typeof alertEvents.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
