import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, test } from 'vitest';
import { parsePeriod } from '../../src/domain/limits/periods';
import type { CustomerGate } from '../../src/platform/worker/customer-gate';
import { STALE_RESERVATION_MS } from '../../src/platform/worker/customer-gate';
import { clientOf } from '../shared/target';
import { gateOf, limitCallerOf, pastRow, restart, workersTarget } from './support';

const CHAT = { model: 'chat', max_tokens: 1, messages: [{ role: 'user', content: '!!!!!!' }] };
const c = clientOf(workersTarget);
const DAY = 86_400_000;

/** The object's insides, for driving a race the HTTP surface cannot time. */
interface Insides {
  subjects: { get(kind: 'key' | 'customer', id: string): unknown; period(...args: unknown[]): Promise<{ used(now: number): number }> };
  gate: { setPrunedBefore(at: number): void };
  ledger: { prune(before: number): boolean };
}

/** Runs `fn` with D1's table `table` out of reach (renamed), then puts it back. */
async function withoutTable<T>(table: string, fn: () => Promise<T>): Promise<T> {
  await env.DB.prepare(`ALTER TABLE ${table} RENAME TO ${table}_away`).run();
  try {
    return await fn();
  } finally {
    await env.DB.prepare(`ALTER TABLE ${table}_away RENAME TO ${table}`).run();
  }
}

beforeEach(async () => {
  await workersTarget.reset();
  await c.ensureModels();
});

describe('a customer object recovers from what goes wrong around it', () => {
  test('a prune that moves the watermark while a counter reads history from D1 loses no rows', async () => {
    const a = await c.customerWithKey();
    const gate = gateOf(a.customerId);
    for (const days of [50, 45, 40, 1]) await gate.commit(pastRow(a, `req_${days}_days_ago`, days));
    await gate.copyNow();
    const now = Date.now();
    const used = await runInDurableObject(gate, async (instance: CustomerGate) => {
      const inside = instance as unknown as Insides;
      inside.gate.setPrunedBefore(now - 55 * DAY);
      const state = inside.subjects.get('customer', a.customerId);
      const loading = inside.subjects.period(state, 'requests', 'rolling:60d', parsePeriod('rolling:60d'), now);
      // The alarm prunes while the D1 read is in flight (the object takes events during D1 I/O).
      inside.gate.setPrunedBefore(now - 35 * DAY);
      inside.ledger.prune(now - 35 * DAY);
      return (await loading).used(now);
    });
    expect(used).toBe(4);
  });

  test('a late row whose key cannot be read is still counted by the quota in memory', async () => {
    const a = await c.customerWithKey({ quotas: [{ unit: 'requests', limit: 2 }] });
    expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
    await withoutTable('api_keys', () => gateOf(a.customerId).commit(pastRow(a, 'req_late', 0)));
    expect(await gateOf(a.customerId).ledgerState()).toMatchObject({ rows: 2 });
    const next = await c.call(a.secret, '/v1/chat/completions', CHAT);
    expect([next.status, next.body.error?.code]).toEqual([429, 'insufficient_quota']);
  });

  test('a call admitted before a restart that could not be restored, and never settled, is swept', async () => {
    const a = await c.customerWithKey({ concurrency: { limit: 1 }, quotas: [{ unit: 'requests', limit: 100 }] });
    const caller = await limitCallerOf(a);
    expect(await gateOf(a.customerId).reserve(caller, { model: 'chat', promptTokens: 9, maxTokens: 1, predictions: 0, callId: 'req_dead' })).toMatchObject({ ok: true });
    await restart(a.customerId);
    // The object comes back while D1 cannot say the plan: the call is not restored.
    await withoutTable('plans', async () => expect(await gateOf(a.customerId).ledgerState()).toMatchObject({ held: 0 }));
    const gate = gateOf(a.customerId);
    expect(await runInDurableObject(gate, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    await runInDurableObject(gate, (_i, state) => void state.storage.sql.exec('UPDATE admitted SET at = at - ?', STALE_RESERVATION_MS));
    await runDurableObjectAlarm(gate);
    expect(await runInDurableObject(gate, (_i, state) => state.storage.sql.exec('SELECT count(*) AS n FROM admitted').one().n)).toBe(0);
    await restart(a.customerId);
    expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
  });
});
