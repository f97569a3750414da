import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findCustomer } from '../src/db/repos/customers.repo';
import { applyPaymentGrace } from '../src/services/billing/payment-grace.service';
import { linkStripeCustomer, updateCustomer } from '../src/services/customers.service';
import { createPlan } from '../src/services/plans.service';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chatBody, postJson } from './support/http';

const SECRET = 'whsec_tollgate_test_secret';
let strict: TestGateway;
let lenient: TestGateway;
let off: TestGateway;

beforeAll(async () => {
  [strict, lenient, off] = await Promise.all([
    startTestGateway({ STRIPE_WEBHOOK_SECRET: SECRET, TOLLGATE_BILLING_PAYMENT_GRACE: '0' }),
    startTestGateway({ STRIPE_WEBHOOK_SECRET: SECRET, TOLLGATE_BILLING_PAYMENT_GRACE: '1h' }),
    startTestGateway(),
  ]);
  await createPlan(strict.gateway.deps, { name: 'pro' });
  await createPlan(strict.gateway.deps, { name: 'scale' });
});

afterAll(async () => {
  await Promise.all([strict.stop(), lenient.stop(), off.stop()]);
});

let events = 0;
/** A Stripe event of `type` about `object`, created `ageSec` seconds ago. */
const event = (type: string, object: Record<string, unknown>, ageSec = 0) => ({
  id: `evt_test_${++events}`,
  object: 'event',
  type,
  created: Math.floor(Date.now() / 1000) - ageSec,
  data: { object },
});
const subscription = (customer: string, status: string, plan: string) => ({
  id: `sub_${customer}`,
  object: 'subscription',
  customer,
  status,
  items: { object: 'list', data: [{ id: 'si_1', object: 'subscription_item', price: { id: 'price_1', object: 'price', metadata: { tollgate_plan: plan } } }] },
});

/** POSTs an event signed the way Stripe signs it (optionally with another secret or an old timestamp). */
async function deliver(tg: TestGateway, body: unknown, options: { secret?: string; timestamp?: number; signature?: string | null } = {}) {
  const payload = JSON.stringify(body);
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? SECRET, timestamp: options.timestamp });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.signature !== null) headers['stripe-signature'] = options.signature ?? header;
  const res = await fetch(`${tg.url}/webhooks/stripe`, { method: 'POST', headers, body: payload });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A customer with a key, linked to Stripe customer `stripeId`. */
async function linked(tg: TestGateway, stripeId: string) {
  const c = await tg.customerWithKey();
  await linkStripeCustomer(tg.gateway.deps, c.customerId, stripeId);
  return c;
}

const call = async (tg: TestGateway, secret: string) => (await postJson(tg.url, '/v1/chat/completions', secret, chatBody('hi'))).status;

describe('POST /webhooks/stripe', () => {
  test('verifies the signature over the raw body within the tolerance window; no API key needed', async () => {
    const body = event('ping.unknown', { id: 'x' });
    expect(await deliver(strict, body, { secret: 'whsec_someone_else' })).toMatchObject({ status: 400, body: { code: 'invalid_signature' } });
    expect(await deliver(strict, body, { signature: null })).toMatchObject({ status: 400, body: { code: 'invalid_signature' } });
    expect(await deliver(strict, body, { timestamp: Math.floor(Date.now() / 1000) - 600 })).toMatchObject({ status: 400, body: { code: 'invalid_signature' } });
    const tampered = await fetch(`${strict.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: JSON.stringify(body), secret: SECRET }) },
      body: JSON.stringify({ ...body, type: 'invoice.paid' }),
    });
    expect(tampered.status).toBe(400);
    expect(await deliver(strict, body)).toEqual({ status: 200, body: { received: true, id: body.id, outcome: 'ignored', note: 'event type ping.unknown is not used' } });
    expect(await deliver(off, body)).toMatchObject({ status: 503, body: { code: 'billing_not_configured' } });
  });

  test('subscription events set plan and status from price metadata, once per event id, never going back in time', async () => {
    const c = await linked(strict, 'cus_sub1');
    const created = event('customer.subscription.created', subscription('cus_sub1', 'active', 'pro'), 60);
    expect((await deliver(strict, created)).body).toMatchObject({ outcome: 'applied', note: 'plan pro, subscription active' });
    expect((await deliver(strict, created)).body).toMatchObject({ outcome: 'duplicate' });
    const customer = () => findCustomer(strict.gateway.deps.db, c.customerId);
    expect((await customer())?.planId).toBe((await findPlanId(strict, 'pro')));
    await deliver(strict, event('customer.subscription.updated', subscription('cus_sub1', 'active', 'scale'), 30));
    expect((await deliver(strict, event('customer.subscription.updated', subscription('cus_sub1', 'active', 'pro'), 45))).body).toMatchObject({ outcome: 'ignored' });
    expect((await customer())?.planId).toBe(await findPlanId(strict, 'scale'));
    expect(await call(strict, c.secret)).toBe(200);
    await deliver(strict, event('customer.subscription.deleted', subscription('cus_sub1', 'canceled', 'scale'), 10));
    expect(await customer()).toMatchObject({ status: 'suspended', planId: await findPlanId(strict, 'scale') });
    expect(await call(strict, c.secret)).toBe(403);
    const audit = await strict.gateway.deps.db.all<{ actor: string; action: string }>(sql`select actor, action from audit_log where target_id = ${c.customerId} and actor = 'stripe'`);
    expect(audit).toHaveLength(3);
    await deliver(strict, event('customer.subscription.created', { ...subscription('cus_sub1', 'trialing', 'pro'), id: 'sub_2' }, 0));
    expect(await customer()).toMatchObject({ status: 'active', planId: await findPlanId(strict, 'pro') });
    expect(await call(strict, c.secret)).toBe(200);
    const unknown = await deliver(strict, event('customer.subscription.created', subscription('cus_nobody', 'active', 'pro')));
    expect(unknown).toMatchObject({ status: 200, body: { outcome: 'ignored', note: 'no customer is linked to cus_nobody' } });
  });

  test('invoice.payment_failed suspends the keys after the grace period; invoice.paid lifts it', async () => {
    const now = await linked(strict, 'cus_pay0');
    await deliver(strict, event('invoice.payment_failed', { id: 'in_1', object: 'invoice', customer: 'cus_pay0' }));
    expect(await call(strict, now.secret)).toBe(403);
    await deliver(strict, event('invoice.paid', { id: 'in_1', object: 'invoice', customer: 'cus_pay0' }));
    expect(await call(strict, now.secret)).toBe(200);

    const later = await linked(lenient, 'cus_pay1');
    await deliver(lenient, event('invoice.payment_failed', { id: 'in_2', object: 'invoice', customer: 'cus_pay1' }));
    expect(await call(lenient, later.secret)).toBe(200);
    const billing = lenient.gateway.deps.billing!.deps;
    expect(await applyPaymentGrace(billing, Date.now() + 30 * 60_000)).toEqual([]);
    expect(await applyPaymentGrace(billing, Date.now() + 61 * 60_000)).toEqual([later.customerId]);
    expect(await call(lenient, later.secret)).toBe(403);
    await deliver(lenient, event('invoice.paid', { id: 'in_2', object: 'invoice', customer: 'cus_pay1' }));
    expect(await call(lenient, later.secret)).toBe(200);
  });

  test("billing never lifts an admin's suspension", async () => {
    const c = await linked(strict, 'cus_admin');
    await updateCustomer(strict.gateway.deps, c.customerId, { status: 'suspended' });
    await deliver(strict, event('invoice.payment_failed', { id: 'in_3', object: 'invoice', customer: 'cus_admin' }));
    await deliver(strict, event('invoice.paid', { id: 'in_3', object: 'invoice', customer: 'cus_admin' }));
    await deliver(strict, event('customer.subscription.updated', subscription('cus_admin', 'active', 'pro')));
    expect(await call(strict, c.secret)).toBe(403);
  });
});

async function findPlanId(tg: TestGateway, name: string): Promise<string> {
  const { getPlan } = await import('../src/services/plans.service');
  return (await getPlan(tg.gateway.deps, name)).id;
}
