import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from '../../db/schema';

/** `normal` survives a process crash (WAL, synchronous=NORMAL); `full` also survives power loss. */
export type Durability = 'normal' | 'full';

/** An open SQLite store: the raw handle (for the ledger's prepared statements) and the drizzle view. */
export interface SqliteStore {
  sqlite: Database.Database;
  db: BetterSQLite3Database<typeof schema>;
  close(): void;
}

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../migrations');

/** Opens (creating folders as needed) the SQLite file in WAL mode with the chosen durability. */
export function openSqlite(path: string, durability: Durability = 'normal'): SqliteStore {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('cache_size = -65536');
  const db = drizzle(sqlite, { schema });
  return { sqlite, db, close: () => sqlite.close() };
}

/** Applies the committed migrations in `migrations/` (the same files wrangler applies to D1). */
export function migrateSqlite(store: SqliteStore): void {
  migrate(store.db, { migrationsFolder: MIGRATIONS });
}
