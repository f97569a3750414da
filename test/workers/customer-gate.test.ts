import {
  createExecutionContext, createScheduledController, env, runDurableObjectAlarm, runInDurableObject, SELF, waitOnExecutionContext,
} from 'cloudflare:test';
import { beforeEach, describe, expect, inject, test } from 'vitest';
import worker from '../../src/entry/worker';
import type { CustomerGate } from '../../src/platform/worker/customer-gate';
import { STALE_RESERVATION_MS } from '../../src/platform/worker/customer-gate';
import { parseConfig } from '../../src/config';
import { buildWorkerDeps } from '../../src/platform/worker/deps';
import { stringVars } from '../../src/platform/worker/env';
import { DAILY_CRON, runScheduledJobs } from '../../src/platform/worker/jobs';
import { clientOf } from '../shared/target';
import { gateOf, limitCallerOf, pastRow, restart, workersTarget } from './support';

const CHAT = { model: 'chat', max_tokens: 1, messages: [{ role: 'user', content: '!!!!!!' }] };
const c = clientOf(workersTarget);

const d1Rows = async (customerId: string) =>
  (await env.DB.prepare('SELECT * FROM usage_events WHERE customer_id = ? ORDER BY started_at').bind(customerId).all<Record<string, unknown>>()).results;

beforeEach(async () => {
  await workersTarget.reset();
  await c.ensureModels();
});

describe('the customer object holds the ledger; D1 gets a copy', () => {
  test('its usage_events table has exactly the columns the migrations give D1: names, types, nulls, defaults', async () => {
    const a = await c.customerWithKey();
    const d1 = await env.DB.prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(\'usage_events\') ORDER BY name').all();
    const local = await gateOf(a.customerId).ledgerColumns();
    expect(local).toHaveLength(19);
    expect(local).toEqual(d1.results);
  });

  test('a served call’s row is in the object when the response ends; the alarm copies it to D1 once', async () => {
    const a = await c.customerWithKey();
    const res = await c.call(a.secret, '/v1/chat/completions', CHAT);
    expect(res.status).toBe(200);
    const gate = gateOf(a.customerId);
    expect(await gate.ledgerState()).toMatchObject({ rows: 1, copied: 0, held: 0 });
    expect(await d1Rows(a.customerId)).toHaveLength(0);

    expect(await runDurableObjectAlarm(gate)).toBe(true);
    const copied = await d1Rows(a.customerId);
    expect(copied).toHaveLength(1);
    expect(copied[0]).toMatchObject({ id: res.headers.get('x-request-id'), status: 200, prompt_tokens: 9, completion_tokens: 1 });
    expect(await gate.ledgerState()).toMatchObject({ rows: 1, copied: 1 });
    // Copying again (catch-up, a retried alarm) finds nothing new and duplicates nothing.
    expect(await gate.copyNow()).toBe(0);
    await runInDurableObject(gate, (_instance, state) => state.storage.sql.exec('UPDATE ledger_copy SET copied = 0'));
    expect(await gate.copyNow()).toBe(1);
    expect(await d1Rows(a.customerId)).toHaveLength(1);
  });

  test('the daily cron copies what D1 lacks for every customer', async () => {
    const a = await c.customerWithKey();
    const b = await c.customerWithKey();
    for (const k of [a, a, b]) expect((await c.call(k.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: DAILY_CRON, scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await d1Rows(a.customerId)).toHaveLength(2);
    expect(await d1Rows(b.customerId)).toHaveLength(1);
  });

  test('the daily job reconciles yesterday against Stripe, after the minute job sent it', async () => {
    expect((await c.admin('POST', '/admin/v1/billing/setup', { meters: ['requests'] })).status).toBe(200);
    const a = await c.customerWithKey();
    expect((await c.admin('POST', '/admin/v1/billing/link', { customer: a.customer })).status).toBe(200);
    await gateOf(a.customerId).commit(pastRow(a, 'req_yesterday', 1));
    const vars = stringVars(env);
    const config = parseConfig(vars);
    const deps = buildWorkerDeps(env, config, vars);
    const daily = await runScheduledJobs(DAILY_CRON, deps, env, config);
    // The row was not yet sent when the daily job ran first: it is in flight, not drift.
    expect(daily.copied).toMatchObject({ rows: 1, failed: 0 });
    expect(daily.reconcile).toMatchObject({ ok: true, lines: 1, drift: 0 });
    expect((await runScheduledJobs('* * * * *', deps, env, config)).billing).toMatchObject({ delivered: 1, parked: 0 });
    expect((await runScheduledJobs(DAILY_CRON, deps, env, config)).reconcile).toEqual({ ok: true, lines: 1, drift: 0 });
  });
});

describe('an object that leaves memory loses no limit state', () => {
  test('request windows survive a restart', async () => {
    const a = await c.customerWithKey({ rates: [{ requests: 2, per: '1h' }] });
    for (let i = 0; i < 2; i++) expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
    await restart(a.customerId);
    const refused = await c.call(a.secret, '/v1/chat/completions', CHAT);
    expect([refused.status, refused.body.error?.code]).toEqual([429, 'rate_limited']);
  });

  test('a call in flight across a restart keeps its concurrency slot and its quota hold until it settles', async () => {
    const a = await c.customerWithKey({ concurrency: { limit: 1 }, quotas: [{ unit: 'requests', limit: 2 }] });
    const caller = await limitCallerOf(a);
    expect(await gateOf(a.customerId).reserve(caller, { model: 'chat', promptTokens: 9, maxTokens: 1, predictions: 0, callId: 'req_in_flight' })).toMatchObject({ ok: true });
    await restart(a.customerId);
    const busy = await c.call(a.secret, '/v1/chat/completions', CHAT);
    expect([busy.status, busy.body.error?.code]).toEqual([429, 'concurrency_limited']);
    const now = Date.now();
    await gateOf(a.customerId).commit({
      id: 'req_in_flight', keyId: a.keyId, customerId: a.customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false,
      promptTokens: 9, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0,
      errorCode: null, usageRaw: null, startedAt: now, finishedAt: now,
    });
    expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
    await restart(a.customerId);
    const spent = await c.call(a.secret, '/v1/chat/completions', CHAT);
    expect([spent.status, spent.body.error?.code]).toEqual([429, 'insufficient_quota']);
    const usage = await c.call(a.secret, '/v1/usage');
    expect(usage.body.limits.find((l: { kind: string }) => l.kind === 'quota')).toMatchObject({ used: 2, reserved: 0 });
  });
});

describe('the object keeps what its limits read and leaves the rest to D1', () => {
  test('copied rows older than 35 days are pruned from the object, not from D1; a 60-day rolling quota keeps them', async () => {
    const plain = await c.customerWithKey();
    const rolling = await c.customerWithKey({ quotas: [{ unit: 'requests', limit: 100, period: 'rolling:60d' }] });
    // The rolling customer's quota has read 60 days back once (any call does it).
    expect((await c.call(rolling.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
    for (const a of [plain, rolling]) {
      const gate = gateOf(a.customerId);
      await gate.commit(pastRow(a, `req_old_${a.keyId}`, 40));
      await gate.commit(pastRow(a, `req_new_${a.keyId}`, 1));
      await gate.copyNow();
      expect(await runDurableObjectAlarm(gate)).toBe(true);
    }
    expect(await gateOf(plain.customerId).ledgerState()).toMatchObject({ rows: 1 });
    expect(await d1Rows(plain.customerId)).toHaveLength(2);
    expect(await gateOf(rolling.customerId).ledgerState()).toMatchObject({ rows: 3 });
    // Counted again from storage alone after a restart: the kept rows are all the quota needs.
    await restart(rolling.customerId);
    const usage = await c.call(rolling.secret, '/v1/usage');
    expect(usage.body.limits.find((l: { kind: string }) => l.kind === 'quota')).toMatchObject({ used: 3 });
  });

  test('after pruning everything old, new rows still reach D1 (no rowid is handed out twice)', async () => {
    const a = await c.customerWithKey();
    const gate = gateOf(a.customerId);
    await gate.commit(pastRow(a, 'req_old_1', 40));
    await gate.commit(pastRow(a, 'req_old_2', 40));
    await gate.copyNow();
    await runDurableObjectAlarm(gate);
    expect(await gate.ledgerState()).toMatchObject({ rows: 1 });
    await gate.commit(pastRow(a, 'req_new', 0));
    expect(await gate.copyNow()).toBe(1);
    expect((await d1Rows(a.customerId)).map((r) => r.id)).toEqual(['req_old_1', 'req_old_2', 'req_new']);
  });

  test('a longer rolling quota added after pruning counts the pruned rows from D1', async () => {
    const a = await c.customerWithKey({ rates: [{ requests: 100, per: '1m' }] });
    const gate = gateOf(a.customerId);
    await gate.commit(pastRow(a, 'req_40_days_ago', 40));
    expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
    await gate.copyNow();
    await runDurableObjectAlarm(gate);
    expect(await gate.ledgerState()).toMatchObject({ rows: 1 });
    const edited = await c.admin('PATCH', `/admin/v1/plans/${a.plan}`, { limits: { quotas: [{ unit: 'requests', limit: 2, period: 'rolling:60d' }] } }, { 'if-match': '*' });
    expect(edited.status).toBe(200);
    const refused = await c.call(a.secret, '/v1/chat/completions', CHAT);
    expect([refused.status, refused.body.error?.code]).toEqual([429, 'insufficient_quota']);
  });
});

describe('reservations the object holds', () => {
  test('an admitted call whose plan cannot be read after a restart still gets its row written', async () => {
    const a = await c.customerWithKey({ quotas: [{ unit: 'requests', limit: 10 }] });
    const caller = await limitCallerOf(a);
    expect(await gateOf(a.customerId).reserve(caller, { model: 'chat', promptTokens: 9, maxTokens: 1, predictions: 0, callId: 'req_across' })).toMatchObject({ ok: true });
    await restart(a.customerId);
    await env.DB.prepare('ALTER TABLE plans RENAME TO plans_away').run();
    try {
      const now = Date.now();
      await gateOf(a.customerId).commit({
        id: 'req_across', keyId: a.keyId, customerId: a.customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false,
        promptTokens: 9, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0,
        errorCode: null, usageRaw: null, startedAt: now, finishedAt: now,
      });
    } finally {
      await env.DB.prepare('ALTER TABLE plans_away RENAME TO plans').run();
    }
    expect(await gateOf(a.customerId).ledgerState()).toMatchObject({ rows: 1, held: 0 });
    expect((await workersTarget.ledger!(a.customerId)).map((r) => [r.id, r.prompt_tokens])).toEqual([['req_across', 9]]);
    expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
  });

  test('a reservation whose call never settles is released by the sweep; its late row is still priced and counted', async () => {
    const a = await c.customerWithKey({ concurrency: { limit: 1 }, quotas: [{ unit: 'requests', limit: 10 }], prices: { chat: { perRequest: 0.5 } } });
    const gate = gateOf(a.customerId);
    const caller = await limitCallerOf(a);
    const request = { model: 'chat', promptTokens: 9, maxTokens: 1, predictions: 0, callId: 'req_lost' };
    expect(await gate.reserve(caller, request)).toMatchObject({ ok: true });
    // The isolate that reserved died: the only slot stays taken …
    expect(await gate.reserve(caller, { ...request, callId: 'req_second' })).toMatchObject({ ok: false, code: 'concurrency_limited' });
    // … until the sweep finds the reservation older than the limit.
    await runInDurableObject(gate, (instance: CustomerGate) => {
      const held = (instance as unknown as { held: Map<string, { at: number }> }).held;
      held.get('req_lost')!.at -= STALE_RESERVATION_MS + 1;
    });
    await runDurableObjectAlarm(gate);
    expect(await gate.ledgerState()).toMatchObject({ held: 0 });
    expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);

    // The lost call's row arrives after all: priced from the plan and counted against the quota.
    const now = Date.now();
    const cost = await gate.commit({
      id: 'req_lost', keyId: a.keyId, customerId: a.customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false,
      promptTokens: 9, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0,
      errorCode: null, usageRaw: null, startedAt: now, finishedAt: now,
    });
    expect(cost).toBe(500_000);
    const usage = await c.call(a.secret, '/v1/usage');
    expect(usage.body.limits.find((l: { kind: string }) => l.kind === 'quota')).toMatchObject({ used: 2, reserved: 0 });
    expect((await workersTarget.ledger!(a.customerId)).map((r) => r.cost_micros)).toEqual(expect.arrayContaining([500_000, 500_000]));
  });
});

describe('a client that leaves', () => {
  test('before the backend answers: the backend call is cut at once, the row says 499 and the slot is free', async () => {
    const made = await c.admin('POST', '/admin/v1/models', { name: 'hang', units: 'request', backends: [{ protocol: 'json', url: `${inject('hangBackendUrl')}/predict`, timeout_ms: 20_000 }] });
    expect(made.status).toBe(201);
    const a = await c.customerWithKey({ concurrency: { limit: 1 } });
    const leaving = new AbortController();
    const call = SELF.fetch('http://gateway.test/v1/models/hang/predict', {
      method: 'POST',
      headers: { authorization: `Bearer ${a.secret}`, 'content-type': 'application/json' },
      body: '{"input":1}',
      signal: leaving.signal,
    }).catch(() => null);
    await new Promise((resolve) => setTimeout(resolve, 300));
    leaving.abort();
    await call;
    let rows: Awaited<ReturnType<NonNullable<typeof workersTarget.ledger>>> = [];
    for (let waited = 0; waited < 5_000 && rows.length === 0; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await workersTarget.ledger!(a.customerId);
    }
    expect(rows.map((r) => [r.status, r.error_code])).toEqual([[499, 'client_closed']]);
    expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
  });
});

describe('budget alerts', () => {
  test('a late row (no reservation held) that crosses a budget threshold raises its alert', async () => {
    const a = await c.customerWithKey({ budget: { amount: 1, period: 'month', alerts: [50] }, prices: { chat: { perRequest: 0.3 } } });
    expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
    const now = Date.now();
    const cost = await gateOf(a.customerId).commit({
      id: 'req_late', keyId: a.keyId, customerId: a.customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false,
      promptTokens: 9, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0,
      errorCode: null, usageRaw: null, startedAt: now, finishedAt: now,
    });
    expect(cost).toBe(300_000);
    let alerts: Array<{ threshold_percent: number }> = [];
    for (let waited = 0; waited < 3_000 && alerts.length === 0; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      alerts = (await env.DB.prepare('SELECT threshold_percent FROM alert_events WHERE customer_id = ?').bind(a.customerId).all<{ threshold_percent: number }>()).results;
    }
    expect(alerts).toEqual([{ threshold_percent: 50 }]);
  });
});

describe('cron jobs', () => {
  test('the every-minute cron sends closed hours to Stripe with the same sync job as Node', async () => {
    expect((await c.admin('POST', '/admin/v1/billing/setup', { meters: ['requests', 'input_tokens'] })).status).toBe(200);
    const a = await c.customerWithKey();
    expect((await c.admin('POST', '/admin/v1/billing/link', { customer: a.customer })).status).toBe(200);
    // Two calls two hours ago (a closed bucket: the cron holds open ones back), committed like any other.
    const at = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const gate = gateOf(a.customerId);
    for (const [id, prompt] of [['req_past_1', 12], ['req_past_2', 30]] as const) {
      await gate.commit({
        id, keyId: a.keyId, customerId: a.customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false,
        promptTokens: prompt, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0,
        errorCode: null, usageRaw: null, startedAt: at, finishedAt: at + 5,
      });
    }
    await gate.copyNow();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const day = new Date(at).toISOString().slice(0, 10);
    const report = await c.admin('GET', `/admin/v1/billing/reconciliation?customer=${a.customer}&from=${day}`);
    const lines = report.body.lines.map((l: { meter: string; status: string; ledger: number; stripe: number }) => `${l.meter} ${l.status} ${l.ledger}/${l.stripe}`);
    expect(lines).toEqual(['input_tokens ok 42/42', 'requests ok 2/2']);
  });
});

describe('configuration', () => {
  test('a bad setting is answered 500 with its name, and the good configuration serves again', async () => {
    const bad = await worker.fetch(new Request('http://gateway.test/healthz'), { ...env, TOLLGATE_MAX_BODY_BYTES: 'lots' }, createExecutionContext());
    expect(bad.status).toBe(500);
    const body = (await bad.json()) as { detail: string; code: string };
    expect(body.code).toBe('invalid_configuration');
    expect(body.detail).toContain('TOLLGATE_MAX_BODY_BYTES');
    expect((await worker.fetch(new Request('http://gateway.test/healthz'), env, createExecutionContext())).status).toBe(200);
  });
});
