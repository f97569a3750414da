import { resolve } from 'node:path';
import type { Db } from '../db/types';
import { migrateSqlite, openSqlite } from '../platform/node/sqlite';
import type { AdminDeps } from '../services/admin';
import { createChangeWatch } from '../services/change-watch';

/** The SQLite file the CLI works on, as an absolute path: `--db`, else `$TOLLGATE_DB`, else the gateway's default. */
export function resolveDbPath(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  return resolve(flag || env.TOLLGATE_DB || './data/tollgate.db');
}

/** An open, migrated store and the admin deps built on it. */
export interface CliStore {
  path: string;
  deps: AdminDeps;
  close(): void;
}

/**
 * Opens and migrates the file, so every verb works on a fresh path. The CLI keeps no caches, so its
 * change watch never polls; a running gateway sees these commits through `PRAGMA data_version`.
 */
export function openCliStore(path: string): CliStore {
  const store = openSqlite(path);
  try {
    migrateSqlite(store);
  } catch (error) {
    store.close();
    throw error;
  }
  const deps: AdminDeps = { db: store.db as unknown as Db, now: () => Date.now(), changes: createChangeWatch() };
  return { path, deps, close: () => store.close() };
}
