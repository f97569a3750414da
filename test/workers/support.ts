import { applyD1Migrations, env, reset, runInDurableObject, SELF } from 'cloudflare:test';
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

/** Drops the customer's object from memory, as idle eviction or a deploy does; the next call constructs it again. */
export async function restart(customerId: string): Promise<void> {
  await runInDurableObject(gateOf(customerId), (_instance, state) => {
    try {
      state.abort('restart');
    } catch {
      // abort() ends the object by throwing
    }
  }).catch(() => {});
}

/** A served chat call's ledger row (9 + 1 tokens) that started `daysAgo` days ago. */
export function pastRow(a: { keyId: string; customerId: string }, id: string, daysAgo: number) {
  const at = Date.now() - daysAgo * 86_400_000;
  return {
    id, keyId: a.keyId, customerId: a.customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false,
    promptTokens: 9, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0,
    errorCode: null, usageRaw: null, startedAt: at, finishedAt: at,
  };
}

/** What a customer's object is told about a caller when it reserves (the plan as D1 holds it now). */
export async function limitCallerOf(a: { keyId: string; customerId: string }) {
  const row = await env.DB.prepare('SELECT plan_id FROM customers WHERE id = ?').bind(a.customerId).first<{ plan_id: string | null }>();
  return { keyId: a.keyId, customerId: a.customerId, planId: row?.plan_id ?? null, limitOverrides: null };
}
