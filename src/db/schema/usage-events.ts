import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { idColumn, timeColumn } from './columns';

/**
 * The append-only ledger: one row per keyed call. Rows are never updated; the id is the request id,
 * so a retried insert of the same call is a no-op (ON CONFLICT DO NOTHING).
 */
export const usageEvents = sqliteTable(
  'usage_events',
  {
    id: idColumn(),
    keyId: text('key_id').notNull(),
    customerId: text('customer_id').notNull(),
    model: text('model').notNull(),
    backendId: text('backend_id'),
    route: text('route').notNull(),
    status: integer('status').notNull(),
    stream: integer('stream', { mode: 'boolean' }).notNull(),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    cachedTokens: integer('cached_tokens').notNull().default(0),
    reasoningTokens: integer('reasoning_tokens').notNull().default(0),
    predictions: integer('predictions').notNull().default(0),
    estimated: integer('estimated', { mode: 'boolean' }).notNull().default(false),
    /** Price of the call in micro-units of the plan's currency (0 when the plan prices nothing). */
    costMicros: integer('cost_micros').notNull().default(0),
    errorCode: text('error_code'),
    usageRaw: text('usage_raw'),
    startedAt: timeColumn('started_at').notNull(),
    finishedAt: timeColumn('finished_at').notNull(),
  },
  (t) => [
    index('usage_customer_time_idx').on(t.customerId, t.startedAt),
    index('usage_key_time_idx').on(t.keyId, t.startedAt),
  ],
);

export type UsageEventRow = typeof usageEvents.$inferSelect;
export type NewUsageEvent = typeof usageEvents.$inferInsert;
