import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import { auditLog, type AuditRow } from '../schema';
import type { Db } from '../types';
import { afterKey, toPage, type Page, type PageKey } from './paging';

/** Which audit rows to list. Times are epoch ms, `to` exclusive. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  requestId?: string;
  from?: number;
  to?: number;
}

/** Statement: appends an audit row (commit it together with the change it describes). */
export function insertAuditStatement(db: Db, row: AuditRow) {
  return db.insert(auditLog).values(row);
}

/**
 * Statement: appends an audit row only if the statement run just before it changed exactly one row;
 * otherwise the insert violates NOT NULL and the whole commit rolls back (see `isAuditGuardFailure`).
 * This is how a conditional UPDATE (If-Match) and its audit row commit together or not at all, on
 * better-sqlite3 transactions and D1 batches alike: neither lets code branch mid-commit.
 */
export function guardedAuditStatement(db: Db, row: AuditRow) {
  return db.insert(auditLog).values({ ...row, id: sql<string>`case when changes() = 1 then ${row.id} end` });
}

/** True when a commit was rolled back because a guarded audit row found nothing changed. */
export function isAuditGuardFailure(error: unknown): boolean {
  return String((error as Error)?.message ?? error).includes('NOT NULL constraint failed: audit_log.id');
}

/** Audit rows, newest first, one page at a time. */
export async function pageAudit(db: Db, filter: AuditFilter, after: PageKey | undefined, limit: number): Promise<Page<AuditRow>> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        filter.actor ? eq(auditLog.actor, filter.actor) : undefined,
        filter.action ? eq(auditLog.action, filter.action) : undefined,
        filter.targetType ? eq(auditLog.targetType, filter.targetType) : undefined,
        filter.targetId ? eq(auditLog.targetId, filter.targetId) : undefined,
        filter.requestId ? eq(auditLog.requestId, filter.requestId) : undefined,
        filter.from !== undefined ? gte(auditLog.createdAt, filter.from) : undefined,
        filter.to !== undefined ? lt(auditLog.createdAt, filter.to) : undefined,
        afterKey([auditLog.createdAt, auditLog.id], after, 'desc'),
      ),
    )
    .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => [r.createdAt, r.id]);
}
