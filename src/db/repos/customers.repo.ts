import { asc, count, eq, or } from 'drizzle-orm';
import { customers, type CustomerRow } from '../schema';
import type { Db } from '../types';

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
