import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { apiKeys, customers, type ApiKeyRow } from '../schema';
import type { Db } from '../types';

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
export async function findKeyByHash(db: Db, hash: string): Promise<KeyWithCustomer | undefined> {
  const rows = await db
    .select({ key: apiKeys, customerStatus: customers.status, planId: customers.planId })
    .from(apiKeys)
    .innerJoin(customers, eq(customers.id, apiKeys.customerId))
    .where(eq(apiKeys.hash, hash))
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

/** Statement: ends an old key's life at `expiresAt` and points it at its successor (used by roll). */
export function retireKeyStatement(db: Db, id: string, expiresAt: number, successorId: string) {
  return db.update(apiKeys).set({ expiresAt, rolledTo: successorId }).where(eq(apiKeys.id, id));
}

/** Statement: inserts a key (used by roll, together with retireKeyStatement). */
export function insertKeyStatement(db: Db, row: ApiKeyRow) {
  return db.insert(apiKeys).values(row);
}
