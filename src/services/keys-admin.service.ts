import { guardedAuditStatement } from '../db/repos/audit.repo';
import { pageKeys, updateKeyStatement, type KeyFilter } from '../db/repos/keys.repo';
import type { ApiKeyRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { versionTag } from '../domain/version-tag';
import type { AdminDeps } from './admin';
import { auditChanges, auditRow, checkVersion, commitAudited, staleRecord, SYSTEM_AUDIT, type UpdateOptions } from './audit.service';
import { getCustomer } from './customers.service';
import { keyRow, viewKey, type KeyView } from './keys.service';
import { pageParams, pageResult, type PageRequest, type PageResult } from './paging';
import { validateLimits } from './plans.service';

/** What an admin may change on a key; absent fields stay as they are, null clears. */
export interface KeyPatch {
  name?: string | null;
  /** Epoch ms in the future, or null for never. */
  expiresAt?: number | null;
  /** Models the key may call; null or empty = all. */
  allowedModels?: string[] | null;
  /** Limits that replace the plan's for this key (a plan-limits document), or null. */
  limitOverrides?: Record<string, unknown> | null;
}

/** The version tag (ETag) of a key: its stored fields, not its time-dependent state. */
export function keyVersion(key: KeyView | ApiKeyRow): string {
  const { state: _state, hash: _hash, ...stored } = key as KeyView & { hash?: string };
  return versionTag(stored);
}

/** Changes a key's settings; the next request with it sees them. Refused if the key is not at a demanded version. */
export async function updateKey(deps: AdminDeps, idOrPrefix: string, patch: KeyPatch, options: UpdateOptions = {}): Promise<KeyView> {
  const current = await keyRow(deps, idOrPrefix);
  const now = deps.now();
  checkVersion(keyVersion(current), options.ifVersion, `Key ${current.id}`);
  const next: ApiKeyRow = { ...current };
  if (patch.name !== undefined) next.name = patch.name;
  if (patch.expiresAt !== undefined) {
    if (patch.expiresAt !== null && patch.expiresAt <= now) throw new ServiceError('invalid_request', 'The expiry must be in the future.', 'expires_at');
    next.expiresAt = patch.expiresAt;
  }
  if (patch.allowedModels !== undefined) next.allowedModels = patch.allowedModels?.length ? patch.allowedModels : null;
  if (patch.limitOverrides !== undefined) {
    next.limitOverrides = patch.limitOverrides === null ? null : validateLimits(patch.limitOverrides, 'limit_overrides');
  }
  const changes = auditChanges(current, next);
  if (!changes) return viewKey(current, now);
  const entry = auditRow(deps, options.audit ?? SYSTEM_AUDIT, 'key.update', { type: 'key', id: current.id }, changes);
  await commitAudited(deps.db, [updateKeyStatement(deps.db, current, next), guardedAuditStatement(deps.db, entry)], staleRecord(`Key ${current.id}`));
  deps.changes.changed();
  return viewKey(next, now);
}

/** Keys, newest first, filtered (customer by id or name) and paged. */
export async function getKeysPage(
  deps: AdminDeps,
  filter: Omit<KeyFilter, 'customerId'> & { customer?: string },
  page: PageRequest = {},
): Promise<PageResult<KeyView>> {
  const { after, limit } = pageParams(page, 2);
  const customerId = filter.customer ? (await getCustomer(deps, filter.customer)).id : undefined;
  const now = deps.now();
  const rows = await pageKeys(deps.db, { customerId, state: filter.state, environment: filter.environment }, now, after, limit);
  return pageResult(rows, (row) => viewKey(row, now));
}
