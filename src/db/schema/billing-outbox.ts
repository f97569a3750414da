import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { BILLING_METERS } from '../../domain/billing/meters';
import { timeColumn } from './columns';

/**
 * The billing outbox: one row per customer × meter × time bucket × seq, each sent to Stripe as one meter
 * event whose `identifier` never changes, so any resend is deduplicated by Stripe. Rows are written in the
 * same commit that advances the ledger claim cursor (billing_state). `value` may still grow while the row
 * has never been attempted; from the first attempt on it is frozen.
 */
export const billingOutbox = sqliteTable(
  'billing_outbox',
  {
    identifier: text('identifier').primaryKey(),
    customerId: text('customer_id').notNull(),
    meter: text('meter', { enum: BILLING_METERS }).notNull(),
    bucketStart: timeColumn('bucket_start').notNull(),
    bucketEnd: timeColumn('bucket_end').notNull(),
    seq: integer('seq').notNull(),
    /** `usage` rows come from the ledger; `repair` rows are sent by reconcile --repair for what Stripe lacks. */
    kind: text('kind', { enum: ['usage', 'repair'] }).notNull(),
    value: integer('value').notNull(),
    /** pending → delivered | parked (a 4xx that will never succeed) | expired (past Stripe's 35 days) | canceled. */
    status: text('status', { enum: ['pending', 'delivered', 'parked', 'expired', 'canceled'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** Set before the first send: from then on the row may be at Stripe. */
    firstAttemptAt: timeColumn('first_attempt_at'),
    /** The event timestamp sent (epoch ms), fixed at the first attempt; inside [bucketStart, bucketEnd). */
    eventAt: timeColumn('event_at'),
    channel: text('channel', { enum: ['v1', 'stream'] }),
    nextAttemptAt: timeColumn('next_attempt_at'),
    lastError: text('last_error'),
    deliveredAt: timeColumn('delivered_at'),
    createdAt: timeColumn('created_at').notNull(),
    updatedAt: timeColumn('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('billing_outbox_bucket_seq_idx').on(t.customerId, t.meter, t.bucketStart, t.seq),
    index('billing_outbox_status_idx').on(t.status, t.nextAttemptAt),
  ],
);

export type BillingOutboxRow = typeof billingOutbox.$inferSelect;
