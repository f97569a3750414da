import { findKeyByHash, findKeys, insertKeyStatement, listKeys, retireKeyStatement, revokeKeyStatement } from '../db/repos/keys.repo';
import { guardedAuditStatement, insertAuditStatement } from '../db/repos/audit.repo';
import { runAtomic } from '../db/atomic';
import type { ApiKeyRow } from '../db/schema';
import { hashKey, isWellFormedKey, mintKey, type KeyEnvironment } from '../domain/api-key';
import { ServiceError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { AdminDeps } from './admin';
import { auditChanges, auditRow, commitAudited, SYSTEM_AUDIT, type AuditContext } from './audit.service';
import { getCustomer } from './customers.service';
import { validateLimits } from './plans.service';

/** A key as admins see it: never the secret or its hash. */
export type KeyView = Omit<ApiKeyRow, 'hash'> & { state: 'active' | 'revoked' | 'expired' };

/** A new key: the secret appears here once and is stored nowhere. */
export interface CreatedKey {
  key: KeyView;
  secret: string;
}

/** The admin view of a key row at `now`. */
export function viewKey(row: ApiKeyRow, now: number): KeyView {
  const { hash: _hash, ...rest } = row;
  const state = row.revokedAt !== null && row.revokedAt <= now ? 'revoked' : row.expiresAt !== null && row.expiresAt <= now ? 'expired' : 'active';
  return { ...rest, state };
}

function newKeyRow(customerId: string, now: number, input: KeyOptions) {
  const minted = mintKey(input.environment ?? 'live');
  const row: ApiKeyRow = {
    id: newId('key'),
    customerId,
    name: input.name ?? null,
    hash: minted.hash,
    displayPrefix: minted.displayPrefix,
    environment: minted.environment,
    allowedModels: input.allowedModels?.length ? input.allowedModels : null,
    limitOverrides: input.limitOverrides ? validateLimits(input.limitOverrides, 'limit_overrides') : null,
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
    rolledTo: null,
    createdAt: now,
  };
  return { row, secret: minted.secret };
}

/** Options a key is created with. */
export interface KeyOptions {
  name?: string | null;
  environment?: KeyEnvironment;
  allowedModels?: string[] | null;
  limitOverrides?: Record<string, unknown> | null;
  expiresAt?: number | null;
}

/** Issues a key for a customer (by id or name). */
export async function createKey(deps: AdminDeps, customer: string, input: KeyOptions = {}, audit: AuditContext = SYSTEM_AUDIT): Promise<CreatedKey> {
  const owner = await getCustomer(deps, customer);
  const now = deps.now();
  if (input.expiresAt != null && input.expiresAt <= now) {
    throw new ServiceError('invalid_request', 'The expiry must be in the future.', 'expires_at');
  }
  const { row, secret } = newKeyRow(owner.id, now, input);
  const entry = auditRow(deps, audit, 'key.create', { type: 'key', id: row.id }, auditChanges(null, row)!);
  await runAtomic(deps.db, [insertKeyStatement(deps.db, row), insertAuditStatement(deps.db, entry)]);
  deps.changes.changed();
  return { key: viewKey(row, now), secret };
}

/** Keys, optionally of one customer. */
export async function getKeys(deps: AdminDeps, customer?: string): Promise<KeyView[]> {
  const customerId = customer ? (await getCustomer(deps, customer)).id : undefined;
  const now = deps.now();
  return (await listKeys(deps.db, customerId)).map((k) => viewKey(k, now));
}

/** A key by id or unique display prefix. */
export async function getKey(deps: AdminDeps, idOrPrefix: string): Promise<KeyView> {
  return viewKey(await keyRow(deps, idOrPrefix), deps.now());
}

/** Revokes a key; the next request with it is refused. Revoking twice is harmless. */
export async function revokeApiKey(deps: AdminDeps, idOrPrefix: string, audit: AuditContext = SYSTEM_AUDIT): Promise<KeyView> {
  const row = await keyRow(deps, idOrPrefix);
  const now = deps.now();
  if (row.revokedAt !== null) return viewKey(row, now);
  const revoked = { ...row, revokedAt: now };
  const entry = auditRow(deps, audit, 'key.revoke', { type: 'key', id: row.id }, auditChanges(row, revoked)!);
  try {
    await commitAudited(deps.db, [revokeKeyStatement(deps.db, row.id, now), guardedAuditStatement(deps.db, entry)], () => new ServiceError('conflict', 'revoked meanwhile'));
  } catch (error) {
    // Revoked by someone else between the read and the commit: the outcome the caller wanted.
    if (error instanceof ServiceError && error.code === 'conflict') return viewKey(await keyRow(deps, row.id), now);
    throw error;
  }
  deps.changes.changed();
  return viewKey(revoked, now);
}

/**
 * Rolls a key: issues a successor with the same settings and lets the old one live `graceMs` more
 * (0 = retire it now). Both changes commit together.
 */
export async function rollApiKey(
  deps: AdminDeps,
  idOrPrefix: string,
  graceMs: number,
  audit: AuditContext = SYSTEM_AUDIT,
): Promise<CreatedKey & { previous: KeyView }> {
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new ServiceError('invalid_request', 'The grace period must be zero or more.', 'grace');
  const old = await keyRow(deps, idOrPrefix);
  const now = deps.now();
  const oldView = viewKey(old, now);
  if (oldView.state !== 'active') throw new ServiceError('conflict', `Key ${old.id} is ${oldView.state}; only active keys can be rolled.`);
  if (old.rolledTo) throw new ServiceError('conflict', `Key ${old.id} was already rolled to ${old.rolledTo}; roll that key instead.`);
  const { row, secret } = newKeyRow(old.customerId, now, {
    name: old.name,
    environment: old.environment,
    allowedModels: old.allowedModels,
    limitOverrides: old.limitOverrides,
    expiresAt: old.expiresAt,
  });
  const oldExpiry = Math.min(now + graceMs, old.expiresAt ?? Infinity);
  const retired = { ...old, expiresAt: oldExpiry, rolledTo: row.id };
  const entry = auditRow(deps, audit, 'key.roll', { type: 'key', id: old.id }, auditChanges(old, retired)!);
  await commitAudited(
    deps.db,
    [insertKeyStatement(deps.db, row), retireKeyStatement(deps.db, old, oldExpiry, row.id), guardedAuditStatement(deps.db, entry)],
    () => new ServiceError('conflict', `Key ${old.id} changed while it was being rolled (rolled or revoked elsewhere); read it again.`),
  );
  deps.changes.changed();
  return { key: viewKey(row, now), secret, previous: viewKey(retired, now) };
}

/** The stored key for an id, a unique display prefix or the whole secret; not_found otherwise. */
export async function keyRow(deps: AdminDeps, idOrPrefix: string): Promise<ApiKeyRow> {
  if (isWellFormedKey(idOrPrefix)) {
    const found = await findKeyByHash(deps.db, hashKey(idOrPrefix));
    if (found) return found.key;
  }
  const rows = await findKeys(deps.db, idOrPrefix);
  if (rows.length > 1) throw new ServiceError('invalid_request', `'${idOrPrefix}' matches several keys; give the key id.`, 'key');
  const row = rows[0];
  if (!row) throw new ServiceError('not_found', `No key '${idOrPrefix}' (give its id or a unique prefix).`, 'key');
  return row;
}
