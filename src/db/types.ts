import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type * as schema from './schema';

/** Either drizzle driver (better-sqlite3 on Node, D1 on Workers); repos `await` every query so both work. */
export type Db = BaseSQLiteDatabase<'sync' | 'async', unknown, typeof schema>;
