import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { idColumn, timeColumn } from './columns';
import { customers } from './customers';

/** API keys. Only the SHA-256 of the secret is stored, plus a short prefix for display. */
export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: idColumn(),
    customerId: text('customer_id').notNull().references(() => customers.id),
    name: text('name'),
    hash: text('hash').notNull().unique(),
    displayPrefix: text('display_prefix').notNull(),
    environment: text('environment', { enum: ['live', 'test'] }).notNull(),
    allowedModels: text('allowed_models', { mode: 'json' }).$type<string[] | null>(),
    /** Limits that replace the plan's for this key (same shape as a plan's limits), or null. */
    limitOverrides: text('limit_overrides', { mode: 'json' }).$type<Record<string, unknown> | null>(),
    expiresAt: timeColumn('expires_at'),
    revokedAt: timeColumn('revoked_at'),
    rolledTo: text('rolled_to'),
    createdAt: timeColumn('created_at').notNull(),
  },
  (t) => [index('api_keys_customer_idx').on(t.customerId)],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
