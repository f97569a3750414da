import { integer, text } from 'drizzle-orm/sqlite-core';

/** Primary key column: a time-ordered text id (see domain/ids.ts). */
export const idColumn = () => text('id').primaryKey();

/** Epoch milliseconds; SQLite INTEGER keeps comparisons and indexes cheap. */
export const timeColumn = (name: string) => integer(name);
