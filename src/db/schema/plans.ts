import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { idColumn, timeColumn } from './columns';

/** What a customer buys. `limits` is a JSON document the limits engine reads; `{}` means unlimited. */
export const plans = sqliteTable('plans', {
  id: idColumn(),
  name: text('name').notNull().unique(),
  limits: text('limits', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
  createdAt: timeColumn('created_at').notNull(),
});

export type PlanRow = typeof plans.$inferSelect;
