import { and, desc, eq, gt, isNotNull, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import { apiKeys, customers, type ApiKeyRow } from '../schema';
import type { Db } from '../types';
import { afterKey, toPage, type Page, type PageKey } from './paging';
import { sameRow } from './same-row';

/** A key joined with what auth needs of its customer. */
export interface KeyWithCustomer {
  key: ApiKeyRow;
  customerStatus: 'active' | 'suspended';
  planId: string | null;
}

/** Inserts a key row. */
export async function insertKey(db: Db, row: ApiKeyRow): Promise<void> {
  await db.insert(apiKeys).values(row);
}

/** The key whose secret hashes to `hash`, with its customer's status; the hot path's only key query. */
export function findKeyByHash(db: Db, hash: string): Promise<KeyWithCustomer | undefined> {
  return findKeyWhere(db, eq(apiKeys.hash, hash));
}

/** The key with this id, with its customer's status and plan. */
export function findKeyById(db: Db, id: string): Promise<KeyWithCustomer | undefined> {
  return findKeyWhere(db, eq(apiKeys.id, id));
}

async function findKeyWhere(db: Db, where: SQL): Promise<KeyWithCustomer | undefined> {
  const rows = await db
    .select({ key: apiKeys, customerStatus: customers.status, planId: customers.planId })
    .from(apiKeys)
    .innerJoin(customers, eq(customers.id, apiKeys.customerId))
    .where(where)
    .limit(1);
  return rows[0];
}

/** Keys, newest first, optionally of one customer. */
export async function listKeys(db: Db, customerId?: string): Promise<ApiKeyRow[]> {
  const query = db.select().from(apiKeys);
  const filtered = customerId ? query.where(eq(apiKeys.customerId, customerId)) : query;
  return filtered.orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
}

/** Keys matching an id, or else a display prefix (up to two, so callers can tell ambiguity). */
export async function findKeys(db: Db, idOrPrefix: string): Promise<ApiKeyRow[]> {
  const byId = await db.select().from(apiKeys).where(eq(apiKeys.id, idOrPrefix)).limit(1);
  if (byId[0]) return byId;
  // Display prefixes are 12 characters; a longer argument may be the whole secret's start.
  const prefix = idOrPrefix.slice(0, 12);
  const pattern = `${prefix.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
  return db.select().from(apiKeys).where(sql`${apiKeys.displayPrefix} like ${pattern} escape '\\'`).limit(2);
}

/** Marks a key revoked at `at` unless it already is; returns whether anything changed. */
export async function revokeKey(db: Db, id: string, at: number): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

/**
 * Statement: ends an old key's life at `expiresAt` and points it at its successor (used by roll); only if
 * the key still equals `before`, so two concurrent rolls cannot both succeed (changes() tells).
 */
export function retireKeyStatement(db: Db, before: ApiKeyRow, expiresAt: number, successorId: string) {
  return db.update(apiKeys).set({ expiresAt, rolledTo: successorId }).where(sameRow(apiKeys, before));
}

/** Statement: marks a key revoked at `at` unless it already is (changes() tells whether it did). */
export function revokeKeyStatement(db: Db, id: string, at: number) {
  return db.update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
}

/** Statement: writes `after` over the key only if it still equals `before` (changes() tells). */
export function updateKeyStatement(db: Db, before: ApiKeyRow, after: ApiKeyRow) {
  const { id: _id, ...values } = after;
  return db.update(apiKeys).set(values).where(sameRow(apiKeys, before));
}

/** Which keys to list; `state` is judged at `now`. */
export interface KeyFilter {
  customerId?: string;
  state?: 'active' | 'revoked' | 'expired';
  environment?: 'live' | 'test';
}

function stateCondition(state: KeyFilter['state'], now: number) {
  const revoked = and(isNotNull(apiKeys.revokedAt), lte(apiKeys.revokedAt, now));
  const expired = and(isNotNull(apiKeys.expiresAt), lte(apiKeys.expiresAt, now));
  const notRevoked = or(isNull(apiKeys.revokedAt), gt(apiKeys.revokedAt, now));
  if (state === 'revoked') return revoked;
  if (state === 'expired') return and(notRevoked, expired);
  if (state === 'active') return and(notRevoked, or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)));
  return undefined;
}

/** Keys, newest first, one page at a time. */
export async function pageKeys(db: Db, filter: KeyFilter, now: number, after: PageKey | undefined, limit: number): Promise<Page<ApiKeyRow>> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(
      and(
        filter.customerId ? eq(apiKeys.customerId, filter.customerId) : undefined,
        filter.environment ? eq(apiKeys.environment, filter.environment) : undefined,
        stateCondition(filter.state, now),
        afterKey([apiKeys.createdAt, apiKeys.id], after, 'desc'),
      ),
    )
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => [r.createdAt, r.id]);
}

/** Statement: inserts a key (used by roll, together with retireKeyStatement). */
export function insertKeyStatement(db: Db, row: ApiKeyRow) {
  return db.insert(apiKeys).values(row);
}
