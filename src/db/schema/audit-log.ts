import { index, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { idColumn, timeColumn } from './columns';

/** What a change did: the changed fields before and after (null for a create or a delete); secrets never appear. */
export interface AuditChanges {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/**
 * The admin audit log: one row per mutation, committed together with the change it describes.
 * Append-only: the migration installs triggers that refuse UPDATE and DELETE.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: idColumn(),
    /** JWT `sub` for the admin API, `cli:<os user>` for the CLI, `system` for internal jobs. */
    actor: text('actor').notNull(),
    /** `<resource>.<verb>`, e.g. `key.revoke`. */
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    changes: text('changes', { mode: 'json' }).$type<AuditChanges>().notNull(),
    requestId: text('request_id'),
    createdAt: timeColumn('created_at').notNull(),
  },
  (t) => [
    index('audit_log_time_idx').on(t.createdAt),
    index('audit_log_target_idx').on(t.targetType, t.targetId, t.createdAt),
    index('audit_log_actor_idx').on(t.actor, t.createdAt),
  ],
);

/** One audit row as stored. */
export type AuditRow = typeof auditLog.$inferSelect;
