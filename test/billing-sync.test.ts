import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { BILLING_METERS } from '../src/domain/billing/meters';
import { HOUR_MS } from '../src/domain/billing/time';
import type { BillingDeps } from '../src/services/billing/billing-deps';
import { listParked, retryParked } from '../src/services/billing/parked.service';
import { setupBilling } from '../src/services/billing/setup.service';
import { runSync } from '../src/services/billing/sync.service';
import { linkStripeCustomer } from '../src/services/customers.service';
import { insertLedger, ledgerTotals, openBillingStore, sorted, stripeCustomer, type BillingStore } from './support/fake-stripe/harness';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/server';
import type { FaultKind } from './support/fake-stripe/faults';

let fake: FakeStripe;
let store: BillingStore;
let deps: BillingDeps;

beforeEach(async () => {
  fake = await startFakeStripe({ latencyMs: 1 });
  store = openBillingStore();
  deps = store.billing(fake);
  await setupBilling(deps);
});

afterEach(async () => {
  expect(fake.contractRefusals).toEqual([]);
  expect(fake.responseViolations).toEqual([]);
  store.close();
  await fake.close();
});

const hourAgo = (n: number) => Math.floor(Date.now() / HOUR_MS) * HOUR_MS - n * HOUR_MS + 1_000;

/** `customers` linked customers with a few hours of mixed usage each (token calls, predictions, failures, estimated). */
async function seedUsage(customers: number, rowsPerCustomer: number, hours = 3) {
  const ids: string[] = [];
  for (let c = 0; c < customers; c++) {
    const customer = await stripeCustomer(store, fake, `acme${c}`);
    ids.push(customer.id);
    insertLedger(
      store.sqlite,
      Array.from({ length: rowsPerCustomer }, (_, i) => ({
        customerId: customer.id,
        startedAt: hourAgo(1 + (i % hours)) + i,
        status: i % 17 === 0 ? 502 : 200,
        prompt: i % 17 === 0 ? 0 : 10 + (i % 7),
        completion: i % 17 === 0 ? 0 : 3 + (i % 5),
        predictions: i % 4 === 0 ? 2 : 0,
        estimated: i % 29 === 0,
      })),
    );
  }
  return ids;
}

const stripeTotals = () => sorted(fake.state.totals());
const ledger = () => sorted(ledgerTotals(store.sqlite, BILLING_METERS));

describe('billing sync', () => {
  test('one meter event per customer × meter × hour, equal to the ledger; a second run sends nothing', async () => {
    await seedUsage(5, 300, 3);
    const first = await runSync(deps);
    expect(stripeTotals()).toEqual(ledger());
    expect(first.claimed.rows).toBe(1_500);
    // 5 customers × 4 meters × 3 hours, one call each: calls follow buckets, not rows.
    expect(first.sent).toMatchObject({ channel: 'v1', delivered: 60, calls: 60, parked: 0, deferred: 0 });
    expect(fake.count('/v1/billing/meter_events')).toBe(60);
    const second = await runSync(deps);
    expect(second.sent.calls).toBe(0);
    expect(stripeTotals()).toEqual(ledger());
  });

  test.each<FaultKind>(['error_500', 'rate_limit_429', 'timeout', 'lost_response', 'applied_timeout'])(
    'under %s faults Stripe ends up with exactly the ledger totals, never two calls in flight per customer and meter',
    async (kind) => {
      await seedUsage(6, 120, 2);
      fake.inject({ kind, path: '/v1/billing/meter_events', rate: 0.3 });
      const report = await runSync(deps);
      expect(fake.faults.fired[kind]).toBeGreaterThan(3);
      expect(report.sent.retries).toBeGreaterThan(3);
      expect(report.sent.deferred).toBe(0);
      expect(stripeTotals()).toEqual(ledger());
      expect(fake.concurrencyRejections).toBe(0);
    },
  );

  test('large batches go through the v2 meter event stream, surviving 5xx, lost responses and an expired session; sessions renew before 15 minutes', async () => {
    deps = store.billing(fake, { streamMin: 10 });
    await seedUsage(30, 40, 2);
    fake.inject({ kind: 'error_500', path: '/v2/billing/meter_event_stream', times: 2 });
    fake.inject({ kind: 'lost_response', path: '/v2/billing/meter_event_stream', times: 1 });
    const report = await runSync({ ...deps, settings: { ...deps.settings, concurrency: 2 } });
    expect(report.sent.channel).toBe('stream');
    expect(fake.count('/v1/billing/meter_events')).toBe(0);
    expect(stripeTotals()).toEqual(ledger());
    // More usage later; the session token has expired meanwhile: a new session is opened and the batch resent.
    const [first] = [...fake.state.customers.keys()];
    const customerId = store.sqlite.prepare('select id from customers where stripe_customer_id = ?').pluck().get(first) as string;
    insertLedger(store.sqlite, Array.from({ length: 50 }, (_, i) => ({ customerId, startedAt: hourAgo(4) + i, prompt: 1 })));
    fake.state.sessions.clear();
    const stream = { ...deps, settings: { ...deps.settings, streamMin: 1 } };
    await runSync(stream);
    // Calls in flight with the dead token each get a 401; one new session serves them all.
    const expired = fake.requests.filter((r) => r.status === 401).length;
    expect(expired).toBeGreaterThanOrEqual(1);
    expect(fake.count('/v2/billing/meter_event_session')).toBe(2);
    expect(stripeTotals()).toEqual(ledger());
    // Fourteen and a half minutes on, the 15-minute session is renewed before it runs out: no 401.
    fake.state.advance(14.5 * 60_000);
    store.clock.shift = 14.5 * 60_000;
    insertLedger(store.sqlite, Array.from({ length: 5 }, (_, i) => ({ customerId, startedAt: hourAgo(5) + i, prompt: 2 })));
    await runSync(stream);
    expect(fake.count('/v2/billing/meter_event_session')).toBe(3);
    expect(fake.requests.filter((r) => r.status === 401)).toHaveLength(expired);
    expect(stripeTotals()).toEqual(ledger());
  });
});
