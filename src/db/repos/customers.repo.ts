import { and, asc, count, eq, or } from 'drizzle-orm';
import { customers, type CustomerRow } from '../schema';
import type { Db } from '../types';
import { afterKey, toPage, type Page, type PageKey } from './paging';
import { sameRow } from './same-row';

/** Inserts a customer row. */
export async function insertCustomer(db: Db, row: CustomerRow): Promise<void> {
  await db.insert(customers).values(row);
}

/** All customers, oldest first. */
export async function listCustomers(db: Db): Promise<CustomerRow[]> {
  return db.select().from(customers).orderBy(asc(customers.createdAt), asc(customers.id));
}

/** A customer by id or by name (ids win when a name collides with an id). */
export async function findCustomer(db: Db, idOrName: string): Promise<CustomerRow | undefined> {
  const rows = await db
    .select()
    .from(customers)
    .where(or(eq(customers.id, idOrName), eq(customers.name, idOrName)))
    .orderBy(asc(customers.createdAt));
  return rows.find((r) => r.id === idOrName) ?? rows[0];
}

/** Number of customers; zero means a fresh database. */
export async function countCustomers(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(customers);
  return row?.n ?? 0;
}

/** Statement: inserts a customer (committed with its audit row). */
export function insertCustomerStatement(db: Db, row: CustomerRow) {
  return db.insert(customers).values(row);
}

/** Statement: writes `after` over the customer only if it still equals `before` (changes() tells). */
export function updateCustomerStatement(db: Db, before: CustomerRow, after: CustomerRow) {
  const { id: _id, ...values } = after;
  return db.update(customers).set(values).where(sameRow(customers, before));
}

/** Which customers to list. */
export interface CustomerFilter {
  status?: 'active' | 'suspended';
  planId?: string;
  email?: string;
}

/** Customers, oldest first, one page at a time. */
export async function pageCustomers(db: Db, filter: CustomerFilter, after: PageKey | undefined, limit: number): Promise<Page<CustomerRow>> {
  const rows = await db
    .select()
    .from(customers)
    .where(
      and(
        filter.status ? eq(customers.status, filter.status) : undefined,
        filter.planId ? eq(customers.planId, filter.planId) : undefined,
        filter.email ? eq(customers.email, filter.email) : undefined,
        afterKey([customers.createdAt, customers.id], after, 'asc'),
      ),
    )
    .orderBy(asc(customers.createdAt), asc(customers.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => [r.createdAt, r.id]);
}
