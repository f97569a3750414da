import { runAtomic } from '../db/atomic';
import { isAuditGuardFailure, pageAudit, type AuditFilter } from '../db/repos/audit.repo';
import type { AuditChanges, AuditRow } from '../db/schema';
import type { Db } from '../db/types';
import { ServiceError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { AdminDeps } from './admin';
import { pageParams, pageResult, type PageRequest, type PageResult } from './paging';

/** Which audit rows to list. */
export type { AuditFilter };

/** Who makes a change and on behalf of which request; every mutating service takes one. */
export interface AuditContext {
  /** JWT `sub` (admin API), `cli:<os user>` (CLI) or `system`. */
  actor: string;
  requestId: string | null;
}

/** The audit context of changes no person asked for (seeding, tests that call services directly). */
export const SYSTEM_AUDIT: AuditContext = Object.freeze({ actor: 'system', requestId: null });

/** What an update may demand of the current record: one of these version tags (an `If-Match` list). */
export interface UpdateOptions {
  ifVersion?: readonly string[];
  audit?: AuditContext;
}

/** Fields never written to the audit log: a key's hash identifies it and never changes. */
const OMITTED = new Set(['hash']);
/** Secrets: their values never reach the log, but that one was set or replaced does (a rotation is a change). */
const REDACTED = new Set(['webhookSecret', 'secret']);

const shown = (key: string, value: unknown) => (REDACTED.has(key) && value !== null && value !== undefined ? '[redacted]' : (value ?? null));

function visible(record: object | null): Record<string, unknown> | null {
  if (!record) return null;
  return Object.fromEntries(Object.entries(record).filter(([k]) => !OMITTED.has(k)).map(([k, v]) => [k, shown(k, v)]));
}

/**
 * The minimal diff of a change, secrets redacted: the whole record for a create (`before` null) or a
 * delete (`after` null), only the fields that differ for an update; null when nothing differs.
 */
export function auditChanges(before: object | null, after: object | null): AuditChanges | null {
  if (!before || !after) return { before: visible(before), after: visible(after) };
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const changed = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !OMITTED.has(k) && JSON.stringify(b[k]) !== JSON.stringify(a[k]));
  if (changed.length === 0) return null;
  return { before: Object.fromEntries(changed.map((k) => [k, shown(k, b[k])])), after: Object.fromEntries(changed.map((k) => [k, shown(k, a[k])])) };
}

/** One audit row for `action` on a target, stamped with the deps' clock. */
export function auditRow(deps: AdminDeps, audit: AuditContext, action: string, target: { type: string; id: string }, changes: AuditChanges): AuditRow {
  return {
    id: newId('aud'),
    actor: audit.actor,
    action,
    targetType: target.type,
    targetId: target.id,
    changes,
    requestId: audit.requestId,
    createdAt: deps.now(),
  };
}

/** Refuses with precondition_failed unless `current` is one of the demanded versions (none demanded = any). */
export function checkVersion(current: string, ifVersion: readonly string[] | undefined, what: string): void {
  if (ifVersion && !ifVersion.includes(current)) {
    throw new ServiceError('precondition_failed', `${what} has changed since that version was read; fetch it again and retry.`);
  }
}

/** Commits a change with its guarded audit row; a guard that found the record changed meanwhile becomes `onStale`. */
export async function commitAudited(db: Db, statements: Array<{ run(): unknown }>, onStale: () => ServiceError): Promise<void> {
  try {
    await runAtomic(db, statements);
  } catch (error) {
    if (isAuditGuardFailure(error)) throw onStale();
    throw error;
  }
}

/** The audit log, newest first, filtered and paged. */
export async function getAuditLog(deps: AdminDeps, filter: AuditFilter, page: PageRequest = {}): Promise<PageResult<AuditRow>> {
  const { after, limit } = pageParams(page, 2);
  return pageResult(await pageAudit(deps.db, filter, after, limit), (row) => row);
}

/** The precondition failure of an update whose record changed between its read and its commit. */
export const staleRecord = (what: string) => () =>
  new ServiceError('precondition_failed', `${what} changed while this update was being made; fetch it again and retry.`);
