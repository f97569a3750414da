import type { Db } from './types';

interface Runnable {
  run(): unknown;
}

/**
 * Commits several statements together: a synchronous transaction on better-sqlite3, `batch()` on D1.
 * (drizzle does not await async callbacks in better-sqlite3 transactions, and D1 has none at all.)
 */
export async function runAtomic(db: Db, statements: Runnable[]): Promise<void> {
  const maybeBatch = db as unknown as { batch?: (s: Runnable[]) => Promise<unknown> };
  if (typeof maybeBatch.batch === 'function') {
    await maybeBatch.batch(statements);
    return;
  }
  (db as unknown as { transaction(fn: () => void, opts?: { behavior: 'immediate' }): void }).transaction(
    () => {
      for (const statement of statements) statement.run();
    },
    { behavior: 'immediate' },
  );
}
