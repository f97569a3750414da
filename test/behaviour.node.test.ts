import Database from 'better-sqlite3';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe } from 'vitest';
import { behaviourSuite } from './shared/behaviour';
import type { LedgerRow, Target } from './shared/target';
import { startAdminGateway } from './support/admin';
import type { TestGateway } from './support/gateway';

/** A port nobody listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let gw: TestGateway;
let target: Target;
beforeAll(async () => {
  gw = await startAdminGateway();
  const store = new Database(gw.dbPath);
  target = {
    runtime: 'node',
    fetch: (path, init) => fetch(`${gw.url}${path}`, init),
    backendUrl: gw.backend.url,
    deadUrl: `http://127.0.0.1:${await deadPort()}/predict`,
    reset: async () => {},
    ledger: async (customerId) => store.prepare('SELECT * FROM usage_events WHERE customer_id = ? ORDER BY started_at, id').all(customerId) as LedgerRow[],
    // Another connection, like the CLI in another process.
    writeStore: async (sql, ...params) => void store.prepare(sql).run(...params),
  };
});
afterAll(() => gw.stop());

describe('Node build', () => behaviourSuite(() => target));
