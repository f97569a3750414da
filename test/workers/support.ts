import { applyD1Migrations, env, reset, SELF } from 'cloudflare:test';
import { inject } from 'vitest';
import type { LedgerRow, Target } from '../shared/target';

/** The customer's Durable Object. */
export const gateOf = (customerId: string) => env.CUSTOMERS.get(env.CUSTOMERS.idFromName(customerId));

/** The Workers build inside workerd: the worker entry with D1 and the customers' Durable Objects. */
export const workersTarget: Target = {
  runtime: 'workers',
  fetch: (path, init) => SELF.fetch(`http://gateway.test${path}`, init),
  backendUrl: inject('backendUrl'),
  deadUrl: inject('deadUrl'),
  slowBackendUrl: inject('slowBackendUrl'),
  // The pool keeps storage between tests: empty D1 and every object, then migrate D1 again.
  async reset() {
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  },
  // The customer's object holds every committed row; D1 gets them once it copies (done here at once).
  async ledger(customerId) {
    await gateOf(customerId).copyNow();
    const { results } = await env.DB.prepare('SELECT * FROM usage_events WHERE customer_id = ? ORDER BY started_at, id').bind(customerId).all<LedgerRow>();
    return results;
  },
  // Straight into D1, as another isolate or `wrangler d1 execute` would: no cache here hears of it.
  async writeStore(sql, ...params) {
    await env.DB.prepare(sql).bind(...params).run();
  },
};
