import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { STRIPE_API_VERSION } from '../src/services/billing/stripe-billing-client';
import { FAKE_STRIPE_KEY, startFakeStripe, type FakeStripe } from './support/fake-stripe/server';

let fake: FakeStripe;
let stripe: Stripe;
let customer: string;
const now = () => Math.floor(fake.state.now() / 1000);

beforeAll(async () => {
  fake = await startFakeStripe({ latencyMs: 40 });
  stripe = new Stripe(FAKE_STRIPE_KEY, { apiVersion: STRIPE_API_VERSION, host: '127.0.0.1', port: Number(new URL(fake.url).port), protocol: 'http', maxNetworkRetries: 0 });
  await stripe.billing.meters.create({ display_name: 'calls', event_name: 'calls', default_aggregation: { formula: 'sum' } });
  customer = (await stripe.customers.create({ name: 'contract' })).id;
});

afterAll(async () => {
  expect(fake.responseViolations).toEqual([]);
  await fake.close();
});

const event = (identifier: string, value: string, timestamp = now(), who = customer) => ({ event_name: 'calls', identifier, timestamp, payload: { stripe_customer_id: who, value } });
const refusal = (p: Promise<unknown>) => p.then(() => null, (e: Stripe.errors.StripeError) => ({ status: e.statusCode, code: e.code, param: e.param, message: e.message }));
const form = (path: string, body: string) =>
  fetch(`${fake.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${FAKE_STRIPE_KEY}`, 'content-type': 'application/x-www-form-urlencoded' }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('the Stripe-compatible test server', () => {
  test('refuses requests outside the OpenAPI contract, naming the parameter as Stripe does', async () => {
    expect(await form('/v1/billing/meter_events', 'event_name=calls&payload[stripe_customer_id]=x&payload[value]=1&colour=red')).toMatchObject({
      status: 400,
      body: { error: { type: 'invalid_request_error', code: 'parameter_unknown', param: 'colour' } },
    });
    expect((await form('/v1/billing/meter_events', 'payload[value]=1')).body.error).toMatchObject({ code: 'parameter_missing', param: 'event_name' });
    expect((await form('/v1/billing/meter_events', 'event_name=calls&payload[value]=1&timestamp=soon')).body.error).toMatchObject({ code: 'parameter_invalid_integer', param: 'timestamp' });
    expect((await form('/v1/billing/meters', 'display_name=x&event_name=y&default_aggregation[formula]=sum&customer_mapping[type]=by_name&customer_mapping[event_payload_key]=k')).body.error).toMatchObject({ param: 'customer_mapping[type]' });
    expect((await form('/v1/billing/nothing', 'a=1')).status).toBe(404);
    const unauthorized = await fetch(`${fake.url}/v1/billing/meters`, { headers: { authorization: 'Bearer sk_test_wrong' } });
    expect(unauthorized.status).toBe(401);
    expect(fake.contractRefusals.length).toBe(4);
  });

  test("enforces Stripe's meter event rules: positive whole values, the 35-day / 5-minute window, identifier dedup for 24 h", async () => {
    for (const value of ['0', '-3', '2.5', 'ten']) expect(await refusal(stripe.billing.meterEvents.create(event(`v${value}`, value)))).toMatchObject({ status: 400, param: 'payload[value]' });
    expect(await refusal(stripe.billing.meterEvents.create(event('old', '1', now() - 36 * 86_400)))).toMatchObject({ status: 400, param: 'timestamp' });
    expect(await refusal(stripe.billing.meterEvents.create(event('ahead', '1', now() + 600)))).toMatchObject({ status: 400, param: 'timestamp' });
    expect(await refusal(stripe.billing.meterEvents.create(event('nobody', '1', now(), 'cus_nobody')))).toMatchObject({ status: 400, code: 'resource_missing' });
    await stripe.billing.meterEvents.create(event('once', '5'));
    expect(await refusal(stripe.billing.meterEvents.create(event('once', '5')))).toMatchObject({ status: 400, message: 'An event already exists with identifier once.' });
    expect(fake.state.sum('calls', customer, 0, now() + 1)).toBe(5);
    // After 24 hours the identifier is forgotten: a blind resend would now bill twice.
    fake.state.advance(24 * 3_600_000 + 1_000);
    await stripe.billing.meterEvents.create(event('once', '5', now() - 86_400));
    expect(fake.state.sum('calls', customer, 0, now() + 1)).toBe(10);
    expect(await refusal(stripe.billing.meterEventAdjustments.create({ event_name: 'calls', type: 'cancel', cancel: { identifier: 'v1' } }))).toMatchObject({ status: 400 });
  });

  test('allows one meter event call in flight per customer and meter (429 otherwise) and summarises by hour', async () => {
    const other = (await stripe.customers.create({ name: 'other' })).id;
    const results = await Promise.all([
      refusal(stripe.billing.meterEvents.create(event('c1', '1'))),
      refusal(stripe.billing.meterEvents.create(event('c2', '1'))),
      refusal(stripe.billing.meterEvents.create(event('c3', '1', now(), other))),
    ]);
    expect(results.filter((r) => r?.status === 429)).toHaveLength(1);
    expect(results[2]).toBeNull();
    expect(fake.concurrencyRejections).toBe(1);
    const hour = Math.floor(now() / 3600) * 3600;
    const meter = (await stripe.billing.meters.list()).data[0];
    const summaries = await stripe.billing.meters.listEventSummaries(meter.id, { customer: other, start_time: hour, end_time: hour + 3600, value_grouping_window: 'hour' });
    expect(summaries.data.map((s) => s.aggregated_value)).toEqual([1]);
    expect(await refusal(stripe.billing.meters.listEventSummaries(meter.id, { customer: other, start_time: hour + 30, end_time: hour + 3600 }))).toMatchObject({ status: 400 });
  });

  test('the v2 stream needs a live session token: expired after 15 minutes', async () => {
    const session = await stripe.v2.billing.meterEventSession.create();
    const streamer = new Stripe(session.authentication_token, { apiVersion: STRIPE_API_VERSION, host: '127.0.0.1', port: Number(new URL(fake.url).port), protocol: 'http', maxNetworkRetries: 0 });
    const batch = { events: [{ event_name: 'calls', identifier: 's1', payload: { stripe_customer_id: customer, value: '2' }, timestamp: new Date(fake.state.now()).toISOString() }] };
    await streamer.v2.billing.meterEventStream.create(batch);
    await streamer.v2.billing.meterEventStream.create(batch);
    expect(fake.state.events.filter((e) => e.identifier === 's1')).toHaveLength(1);
    fake.state.advance(16 * 60_000);
    const expired = await streamer.v2.billing.meterEventStream.create(batch).catch((e) => e);
    expect(expired).toBeInstanceOf(Stripe.errors.TemporarySessionExpiredError);
    expect(await refusal(stripe.v2.billing.meterEventStream.create(batch))).toMatchObject({ status: 401 });
  });
});
