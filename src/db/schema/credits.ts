import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { idColumn, timeColumn } from './columns';

/** Prepaid credit added to a customer (admin top-ups); the balance is grants + plan refills − priced usage. */
export const creditGrants = sqliteTable(
  'credit_grants',
  {
    id: idColumn(),
    customerId: text('customer_id').notNull(),
    amountMicros: integer('amount_micros').notNull(),
    reason: text('reason'),
    createdAt: timeColumn('created_at').notNull(),
  },
  (t) => [index('credit_grants_customer_idx').on(t.customerId)],
);

export type CreditGrantRow = typeof creditGrants.$inferSelect;
