import { and, eq, gt, lt, or, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';

/** Values of the sort columns of the last row on the previous page. */
export type PageKey = Array<string | number>;

/** One page of rows and the sort key to continue after, or null on the last page. */
export interface Page<T> {
  items: T[];
  next: PageKey | null;
}

/**
 * Keyset condition "after `key`" over unique sort `columns` (the last one must be unique, e.g. the id):
 * stable under inserts, and as cheap on page 1,000 as on page 1.
 */
export function afterKey(columns: SQLiteColumn[], key: PageKey | undefined, direction: 'asc' | 'desc'): SQL | undefined {
  if (!key) return undefined;
  const beyond = direction === 'asc' ? gt : lt;
  const branches: Array<SQL | undefined> = columns.map((column, i) =>
    and(...columns.slice(0, i).map((c, j) => eq(c, key[j])), beyond(column, key[i])),
  );
  return or(...branches);
}

/** Cuts the `limit + 1` rows fetched into a page: the extra row only says another page exists. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => PageKey): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? keyOf(items[items.length - 1]) : null };
}
