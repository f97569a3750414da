import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { idColumn, timeColumn } from './columns';

/** A public model name callers use, and how its calls are counted. */
export const models = sqliteTable('models', {
  id: idColumn(),
  name: text('name').notNull().unique(),
  /** `tokens` (OpenAI usage), `request` (1 per call), `instances` (batch size), `header` (from `unitHeader`). */
  units: text('units', { enum: ['tokens', 'request', 'instances', 'header'] }).notNull(),
  unitHeader: text('unit_header'),
  createdAt: timeColumn('created_at').notNull(),
});

/** One upstream serving a model. Credentials are never stored: only the name of an env var holding them. */
export const backends = sqliteTable(
  'backends',
  {
    id: idColumn(),
    modelId: text('model_id').notNull().references(() => models.id, { onDelete: 'cascade' }),
    protocol: text('protocol', { enum: ['openai', 'kserve-v2', 'tfserving', 'json'] }).notNull(),
    baseUrl: text('base_url').notNull(),
    upstreamModel: text('upstream_model'),
    credentialEnv: text('credential_env'),
    timeoutMs: integer('timeout_ms').notNull().default(60_000),
    weight: integer('weight').notNull().default(1),
    priority: integer('priority').notNull().default(0),
  },
  (t) => [index('backends_model_idx').on(t.modelId)],
);

export type ModelRow = typeof models.$inferSelect;
export type BackendRow = typeof backends.$inferSelect;
