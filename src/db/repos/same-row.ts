import { and, eq, getTableColumns, isNull, type SQL } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';

/**
 * "The row still holds exactly these values": the WHERE of a conditional UPDATE/DELETE, so a change based
 * on a read commits only if nobody changed the row since (optimistic concurrency without a version column).
 */
export function sameRow(table: SQLiteTable, row: Record<string, unknown>): SQL {
  const columns = getTableColumns(table);
  const conditions = Object.entries(columns).map(([key, column]) => (row[key] === null || row[key] === undefined ? isNull(column) : eq(column, row[key])));
  return and(...conditions)!;
}
