import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { BILLING_METERS } from '../../domain/billing/meters';
import { timeColumn } from './columns';

/** Named counters of the billing job; `claim_cursor` is the last ledger rowid aggregated into the outbox. */
export const billingState = sqliteTable('billing_state', {
  name: text('name').primaryKey(),
  value: integer('value').notNull(),
  updatedAt: timeColumn('updated_at').notNull(),
});

/** The Stripe Billing Meter each Tollgate meter reports to, recorded by `tollgate billing setup`. */
export const billingMeters = sqliteTable('billing_meters', {
  meter: text('meter', { enum: BILLING_METERS }).primaryKey(),
  eventName: text('event_name').notNull(),
  stripeMeterId: text('stripe_meter_id').notNull(),
  createdAt: timeColumn('created_at').notNull(),
  updatedAt: timeColumn('updated_at').notNull(),
});

export type BillingMeterRow = typeof billingMeters.$inferSelect;
