import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../src/config';
import { HOUR_MS } from '../src/domain/billing/time';
import { setupBilling } from '../src/services/billing/setup.service';
import { STRIPE_API_VERSION } from '../src/services/billing/stripe-billing-client';
import { linkStripeCustomer } from '../src/services/customers.service';
import { createPlan } from '../src/services/plans.service';
import { openBillingStore } from './support/fake-stripe/harness';
import { FAKE_STRIPE_KEY, startFakeStripe, type FakeStripe } from './support/fake-stripe/server';
import { startTestGateway } from './support/gateway';
import { chatBody, postJson, sleep } from './support/http';

const BIN = resolve(import.meta.dirname, '../bin/tollgate.js');
let fake: FakeStripe;
const dirs: string[] = [];

beforeAll(async () => {
  fake = await startFakeStripe();
});

afterAll(async () => {
  await fake.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-billing-cli-'));
  dirs.push(dir);
  return join(dir, 'tollgate.db');
}

/** Runs the real `tollgate` binary with --json; `stripe: false` leaves Stripe unconfigured. */
const cli = (db: string, args: string[], stripe = true) =>
  new Promise<{ code: number; json: any; stderr: string }>((done) => {
    const env = { ...process.env, TOLLGATE_DB: db, ...(stripe ? { STRIPE_SECRET_KEY: FAKE_STRIPE_KEY, STRIPE_API_URL: fake.url } : { STRIPE_SECRET_KEY: '' }) };
    execFile(process.execPath, [BIN, ...args, '--json'], { env }, (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, json: stdout ? JSON.parse(stdout) : null, stderr }));
  });

describe('billing setup, customer links and configuration', { timeout: 60_000 }, () => {
  test('setup creates the meters the plans price, adopts existing ones, and is idempotent', async () => {
    const store = openBillingStore();
    const deps = store.billing(fake);
    await createPlan(store.admin, { name: 'tokens', limits: { prices: { chat: { promptPer1k: 0.5, completionPer1k: 1.5 } } } });
    const first = await setupBilling(deps);
    expect(first.map((l) => `${l.meter}:${l.action}`)).toEqual(['input_tokens:created', 'output_tokens:created']);
    const again = await setupBilling(deps);
    expect(again.map((l) => `${l.meter}:${l.action}`)).toEqual(['input_tokens:kept', 'output_tokens:kept']);
    // Creating a meter is audited in the same commit; keeping one changes nothing and writes no row.
    const audited = store.sqlite.prepare("SELECT action, target_id FROM audit_log WHERE action LIKE 'billing.meter.%' ORDER BY target_id").all();
    expect(audited).toEqual([{ action: 'billing.meter.created', target_id: 'input_tokens' }, { action: 'billing.meter.created', target_id: 'output_tokens' }]);
    // Another database against the same Stripe account adopts the meters by event name instead of duplicating them.
    const other = openBillingStore();
    expect((await setupBilling(other.billing(fake), { meters: ['input_tokens'] }))[0]).toMatchObject({ action: 'adopted', stripeMeterId: first[0].stripeMeterId });
    // An explicit meter is adopted by id, and one that cannot bill (not `sum`) is refused.
    const sdk = new Stripe(FAKE_STRIPE_KEY, { apiVersion: STRIPE_API_VERSION, host: '127.0.0.1', port: Number(new URL(fake.url).port), protocol: 'http' });
    const last = await sdk.billing.meters.create({ display_name: 'gauge', event_name: 'custom_gauge', default_aggregation: { formula: 'last' } });
    const calls = await sdk.billing.meters.create({ display_name: 'calls', event_name: 'custom_calls', default_aggregation: { formula: 'sum' } });
    await expect(setupBilling(deps, { adopt: { predictions: last.id } })).rejects.toThrow(/aggregates by 'last'/);
    expect(await setupBilling(deps, { meters: ['requests'], adopt: { requests: calls.id } })).toEqual([
      { meter: 'requests', eventName: 'custom_calls', stripeMeterId: calls.id, action: 'adopted' },
    ]);
    store.close();
    other.close();
  });

  test('customers create --stripe makes and links the Stripe customer; links are checked; missing config is named', async () => {
    const db = freshDb();
    const created = await cli(db, ['customers', 'create', '--name', 'acme', '--email', 'ops@acme.test', '--stripe']);
    expect(created.code, created.stderr).toBe(0);
    const stripeId = created.json.stripeCustomerId;
    expect(fake.state.customers.get(stripeId)).toMatchObject({ name: 'acme', email: 'ops@acme.test', metadata: { tollgate_customer_id: created.json.id } });
    const given = await cli(db, ['customers', 'create', '--name', 'beta', '--stripe-customer', stripeId]);
    expect(given).toMatchObject({ code: 1, stderr: expect.stringContaining(`already linked to customer ${created.json.id}`) });
    const missing = await cli(db, ['billing', 'link', 'beta', '--stripe-customer', 'cus_doesnotexist']);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('Stripe has no customer cus_doesnotexist') });
    const noKey = await cli(db, ['customers', 'create', '--name', 'gamma', '--stripe'], false);
    expect(noKey.code).toBe(1);
    expect(JSON.parse(noKey.stderr).error).toMatchObject({ code: 'billing_not_configured', message: expect.stringMatching(/created but not linked.*STRIPE_SECRET_KEY.*tollgate billing link/) });
    const notSetUp = await cli(db, ['billing', 'sync']);
    expect(JSON.parse(notSetUp.stderr).error.code).toBe('billing_not_set_up');
    expect(() => parseConfig({ STRIPE_SECRET_KEY: 'pk_test_123', TOLLGATE_BILLING_SYNC_INTERVAL: 'often' })).toThrow(/STRIPE_SECRET_KEY: must be a Stripe secret key[\s\S]*TOLLGATE_BILLING_SYNC_INTERVAL: must be a duration/);
  });

  test('the server syncs on an interval when STRIPE_SECRET_KEY is set, holds the open hour back, and drains while Stripe hangs', async () => {
    const tg = await startTestGateway({ STRIPE_SECRET_KEY: FAKE_STRIPE_KEY, STRIPE_API_URL: fake.url, TOLLGATE_BILLING_SYNC_INTERVAL: '100ms', TOLLGATE_STRIPE_TIMEOUT: '2s' });
    const deps = tg.gateway.deps.billing!.deps;
    await setupBilling(deps, { meters: ['requests', 'input_tokens', 'output_tokens'] });
    const { customerId, secret } = await tg.customerWithKey();
    fake.state.customers.set('cus_served', { id: 'cus_served', name: 'served', email: null, metadata: {}, created: 0 });
    await linkStripeCustomer(tg.gateway.deps, customerId, 'cus_served');
    const earlier = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 2 * HOUR_MS;
    await tg.gateway.deps.ledger.record({
      id: 'req_earlier', keyId: 'k', customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false, promptTokens: 7, completionTokens: 3,
      cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0, errorCode: null, usageRaw: null, startedAt: earlier, finishedAt: earlier + 10,
    });
    expect((await postJson(tg.url, '/v1/chat/completions', secret, chatBody('hello'))).status).toBe(200);
    for (let i = 0; i < 100 && fake.state.totals().get('cus_served|tollgate_input_tokens') === undefined; i++) await sleep(50);
    expect(fake.state.totals().get('cus_served|tollgate_input_tokens')).toBe(7);
    // The call of this hour is claimed but held back until the hour is over: it keeps absorbing usage.
    const [served] = await deps.db.all<{ at: number }>(sql`select started_at as at from usage_events where customer_id = ${customerId} and id <> 'req_earlier'`);
    const thisHour = Math.floor(served.at / HOUR_MS) * HOUR_MS;
    const held = await deps.db.all<{ status: string; f: number | null }>(sql`select status, first_attempt_at as f from billing_outbox where customer_id = ${customerId} and bucket_start = ${thisHour}`);
    expect(held.length).toBe(3);
    expect(held.every((r) => r.status === 'pending' && r.f === null)).toBe(true);
    // Drain while a Stripe call hangs: the job gives up on it (the row stays queued) and the server stops.
    await tg.gateway.deps.ledger.record({
      id: 'req_hangs', keyId: 'k', customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false, promptTokens: 5, completionTokens: 1,
      cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0, errorCode: null, usageRaw: null, startedAt: earlier - HOUR_MS, finishedAt: earlier,
    });
    fake.inject({ kind: 'timeout', path: '/v1/billing/meter_events' });
    for (let i = 0; i < 100 && !fake.requests.some((r) => r.status === 'hung'); i++) await sleep(20);
    const started = Date.now();
    await tg.stop();
    expect(Date.now() - started).toBeLessThan(4_000);
    fake.faults.clear();
  });
});
