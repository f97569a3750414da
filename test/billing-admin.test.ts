import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HOUR_MS } from '../src/domain/billing/time';
import { setupBilling } from '../src/services/billing/setup.service';
import { runSync } from '../src/services/billing/sync.service';
import { linkStripeCustomer } from '../src/services/customers.service';
import { adminClient, hsToken, startAdminGateway } from './support/admin';
import { FAKE_STRIPE_KEY, startFakeStripe, type FakeStripe } from './support/fake-stripe/server';
import type { TestGateway } from './support/gateway';

let fake: FakeStripe;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startFakeStripe();
  gw = await startAdminGateway({ STRIPE_SECRET_KEY: FAKE_STRIPE_KEY, STRIPE_API_URL: fake.url, TOLLGATE_BILLING_SYNC_INTERVAL: '1h' });
});

afterAll(async () => {
  await gw.stop();
  await fake.close();
});

/** Records a past call of `customerId` through the gateway's own ledger sink. */
async function pastCall(customerId: string, id: string, promptTokens: number) {
  const at = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 2 * HOUR_MS;
  await gw.gateway.deps.ledger.record({
    id, keyId: 'k', customerId, model: 'chat', backendId: null, route: 'chat', status: 200, stream: false, promptTokens, completionTokens: 1,
    cachedTokens: 0, reasoningTokens: 0, predictions: 0, estimated: false, costMicros: 0, errorCode: null, usageRaw: null, startedAt: at, finishedAt: at + 5,
  });
}

describe('admin API: /admin/v1/billing', () => {
  test('reconciliation, parked rows with their reason, and a retry that needs billing:run', async () => {
    const deps = gw.gateway.deps.billing!.deps;
    await setupBilling(deps, { meters: ['requests', 'input_tokens'] });
    const good = await gw.customerWithKey();
    const bad = await gw.customerWithKey();
    fake.state.customers.set('cus_admin_good', { id: 'cus_admin_good', name: 'good', email: null, metadata: {}, created: 0 });
    await linkStripeCustomer(gw.gateway.deps, good.customerId, 'cus_admin_good');
    await linkStripeCustomer(gw.gateway.deps, bad.customerId, 'cus_admin_gone');
    await pastCall(good.customerId, 'req_admin_1', 12);
    await pastCall(bad.customerId, 'req_admin_2', 8);
    await runSync(deps);

    const read = adminClient(gw.url, await hsToken({ scope: 'admin:read' }));
    const run = adminClient(gw.url, await hsToken({ scope: 'admin:read billing:run' }));
    const report = await read('GET', '/admin/v1/billing/reconciliation');
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ object: 'billing_reconciliation', ok: false });
    const byCustomer = (id: string) => report.body.lines.filter((l: any) => l.customer_id === id).map((l: any) => `${l.meter} ${l.status} ${l.ledger}/${l.stripe}`);
    expect(byCustomer(good.customerId)).toEqual(['input_tokens ok 12/12', 'requests ok 1/1']);
    expect(byCustomer(bad.customerId)).toEqual(['input_tokens drift 8/0', 'requests drift 1/0']);

    const parked = await read('GET', `/admin/v1/billing/parked?customer=${bad.customerId}`);
    expect(parked.body.data).toHaveLength(2);
    expect(parked.body.data[0]).toMatchObject({ customer_id: bad.customerId, reason: expect.stringContaining("No such customer: 'cus_admin_gone'") });
    expect((await read('POST', '/admin/v1/billing/parked/retry', { customer: bad.customerId })).status).toBe(403);

    fake.state.customers.set('cus_admin_gone', { id: 'cus_admin_gone', name: 'back', email: null, metadata: {}, created: 0 });
    expect((await run('POST', '/admin/v1/billing/parked/retry', { customer: bad.customerId })).body).toEqual({ requeued: 2 });
    // The retry is a mutation: its audit row names the requeued rows, with the token's subject as actor.
    const auditor = adminClient(gw.url, await hsToken({ scope: 'audit:read' }));
    const audit = await auditor('GET', '/admin/v1/audit?action=billing.parked.retry');
    expect(audit.status).toBe(200);
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0].changes.after.identifiers).toHaveLength(2);
    await runSync(deps);
    expect((await read('GET', '/admin/v1/billing/reconciliation')).body.ok).toBe(true);
    expect((await read('GET', '/admin/v1/billing/parked')).body.data).toEqual([]);
  });
});
