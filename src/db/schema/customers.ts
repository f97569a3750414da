import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { idColumn, timeColumn } from './columns';
import { plans } from './plans';

/** A customer buys a plan; all of its keys share its limits and its bill. */
export const customers = sqliteTable('customers', {
  id: idColumn(),
  name: text('name').notNull(),
  email: text('email'),
  planId: text('plan_id').references(() => plans.id),
  status: text('status', { enum: ['active', 'suspended'] }).notNull().default('active'),
  stripeCustomerId: text('stripe_customer_id'),
  /** Where budget and credit alerts are delivered (HMAC-signed with `webhookSecret`). */
  webhookUrl: text('webhook_url'),
  webhookSecret: text('webhook_secret'),
  createdAt: timeColumn('created_at').notNull(),
});

export type CustomerRow = typeof customers.$inferSelect;
