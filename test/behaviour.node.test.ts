import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe } from 'vitest';
import { behaviourSuite } from './shared/behaviour';
import type { LedgerRow, Target } from './shared/target';
import { startAdminGateway } from './support/admin';
import type { TestGateway } from './support/gateway';
import { freePort } from './support/ports';

let gw: TestGateway;
let target: Target;
beforeAll(async () => {
  gw = await startAdminGateway();
  const store = new Database(gw.dbPath);
  target = {
    runtime: 'node',
    fetch: (path, init) => fetch(`${gw.url}${path}`, init),
    backendUrl: gw.backend.url,
    deadUrl: `http://127.0.0.1:${await freePort()}/predict`,
    reset: async () => {},
    ledger: async (customerId) => store.prepare('SELECT * FROM usage_events WHERE customer_id = ? ORDER BY started_at, id').all(customerId) as LedgerRow[],
    // Another connection, like the CLI in another process.
    writeStore: async (sql, ...params) => void store.prepare(sql).run(...params),
  };
});
afterAll(() => gw.stop());

describe('Node build', () => behaviourSuite(() => target));
