import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { timeColumn } from './columns';

/** Stripe webhook events already handled, by event id: a redelivery is acknowledged and skipped. */
export const billingWebhookEvents = sqliteTable('billing_webhook_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  /** Stripe's `created` (epoch ms). */
  createdAt: timeColumn('created_at').notNull(),
  receivedAt: timeColumn('received_at').notNull(),
});

/** What Stripe's webhooks told us about a customer, and which suspension (if any) billing imposed. */
export const billingCustomerState = sqliteTable('billing_customer_state', {
  customerId: text('customer_id').primaryKey(),
  subscriptionId: text('subscription_id'),
  subscriptionStatus: text('subscription_status'),
  /** `created` of the newest subscription event applied; older replays are ignored. */
  subscriptionEventAt: timeColumn('subscription_event_at'),
  /** When an invoice payment first failed since the last paid invoice; suspension follows after the grace period. */
  paymentFailedAt: timeColumn('payment_failed_at'),
  /** Set when billing suspended the customer, so billing lifts only its own suspensions (never an admin's). */
  suspendedReason: text('suspended_reason', { enum: ['payment', 'subscription'] }),
  updatedAt: timeColumn('updated_at').notNull(),
});

export type BillingCustomerStateRow = typeof billingCustomerState.$inferSelect;
