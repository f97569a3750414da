import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe } from 'vitest';
import { behaviourSuite } from './shared/behaviour';
import type { LedgerRow, Target } from './shared/target';
import { startAdminGateway } from './support/admin';
import type { TestGateway } from './support/gateway';
import { startDroppingServer, type DroppingServer } from './support/ports';
import { startSlowBackend } from './support/slow-backend';
import type { ModelServer } from '../src/demo/model-server';
import { FAKE_STRIPE_KEY, startFakeStripe, type FakeStripe } from './support/fake-stripe/server';

let gw: TestGateway;
let fake: FakeStripe;
let slow: ModelServer;
let dropping: DroppingServer;
let target: Target;
beforeAll(async () => {
  fake = await startFakeStripe();
  slow = await startSlowBackend();
  dropping = await startDroppingServer();
  gw = await startAdminGateway({ STRIPE_SECRET_KEY: FAKE_STRIPE_KEY, STRIPE_API_URL: fake.url, TOLLGATE_BILLING_SYNC_INTERVAL: '1h', TOLLGATE_BILLING_SUMMARY_LAG: '0' });
  const store = new Database(gw.dbPath);
  target = {
    runtime: 'node',
    fetch: (path, init) => fetch(`${gw.url}${path}`, init),
    backendUrl: gw.backend.url,
    slowBackendUrl: slow.url,
    deadUrl: dropping.url,
    reset: async () => {},
    ledger: async (customerId) => store.prepare('SELECT * FROM usage_events WHERE customer_id = ? ORDER BY started_at, id').all(customerId) as LedgerRow[],
    // Another connection, like the CLI in another process.
    writeStore: async (sql, ...params) => void store.prepare(sql).run(...params),
  };
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
  await slow.close();
  await dropping.close();
});

describe('Node build', () => behaviourSuite(() => target));
