import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { BILLING_METERS } from '../src/domain/billing/meters';
import { DAY_MS, HOUR_MS } from '../src/domain/billing/time';
import type { BillingDeps } from '../src/services/billing/billing-deps';
import { listParked, retryParked } from '../src/services/billing/parked.service';
import { setupBilling } from '../src/services/billing/setup.service';
import { runSync } from '../src/services/billing/sync.service';
import { linkStripeCustomer } from '../src/services/customers.service';
import { insertLedger, ledgerTotals, openBillingStore, sorted, stripeCustomer, type BillingStore } from './support/fake-stripe/harness';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/server';

let fake: FakeStripe;
let store: BillingStore;
let deps: BillingDeps;

beforeEach(async () => {
  fake = await startFakeStripe();
  store = openBillingStore();
  deps = store.billing(fake);
  await setupBilling(deps, { meters: ['requests', 'input_tokens'] });
});

afterEach(async () => {
  expect(fake.contractRefusals).toEqual([]);
  expect(fake.responseViolations).toEqual([]);
  store.close();
  await fake.close();
});

const hourStart = (n: number) => Math.floor(Date.now() / HOUR_MS) * HOUR_MS - n * HOUR_MS;
const stripeTotals = () => sorted(fake.state.totals());
const ledger = () => sorted(ledgerTotals(store.sqlite, ['requests', 'input_tokens']));
const outbox = () => store.sqlite.prepare('select identifier, status, value, seq, last_error as reason from billing_outbox order by identifier').all() as Array<Record<string, any>>;
const rows = (customerId: string, n: number, at: number, prompt = 5) => Array.from({ length: n }, (_, i) => ({ customerId, startedAt: at + i, prompt }));

describe('billing outbox', () => {
  test('usage arriving after its bucket was sent becomes seq 1 of that bucket; before the send it merges into seq 0', async () => {
    const c = await stripeCustomer(store, fake, 'late');
    insertLedger(store.sqlite, rows(c.id, 10, hourStart(2)));
    await runSync(deps, { holdOpen: true });
    insertLedger(store.sqlite, rows(c.id, 4, hourStart(2) + 500));
    // Claimed but held back (the current bucket is still open), then more usage merges into the unsent row.
    insertLedger(store.sqlite, rows(c.id, 3, hourStart(0)));
    await runSync(deps, { holdOpen: true });
    insertLedger(store.sqlite, rows(c.id, 2, hourStart(0) + 10));
    await runSync(deps);
    const ids = outbox().map((r) => `${r.identifier}:${r.value}`);
    const b2 = Math.floor(hourStart(2) / 1000);
    const b0 = Math.floor(hourStart(0) / 1000);
    expect(ids).toEqual(
      [`tg_${c.id}_input_tokens_${b0}_0:25`, `tg_${c.id}_input_tokens_${b2}_0:50`, `tg_${c.id}_input_tokens_${b2}_1:20`, `tg_${c.id}_requests_${b0}_0:5`, `tg_${c.id}_requests_${b2}_0:10`, `tg_${c.id}_requests_${b2}_1:4`].sort(),
    );
    expect(stripeTotals()).toEqual(ledger());
  });

  test('an unknown Stripe customer parks its rows with the reason while others flow; relinked and retried, it is billed once', async () => {
    const good = await stripeCustomer(store, fake, 'good');
    const bad = await stripeCustomer(store, fake, 'bad');
    fake.state.customers.delete(bad.stripeCustomerId!);
    insertLedger(store.sqlite, [...rows(good.id, 5, hourStart(1)), ...rows(bad.id, 7, hourStart(1))]);
    const report = await runSync(deps);
    expect(report.sent).toMatchObject({ delivered: 2, parked: 2 });
    const parked = await listParked(deps);
    expect(parked).toHaveLength(2);
    expect(parked[0]).toMatchObject({ customerId: bad.id, reason: expect.stringContaining('No such customer') });
    expect(fake.state.totals().get(`${good.stripeCustomerId}|tollgate_requests`)).toBe(5);
    // Fix the link, requeue: the same identifiers go out, once.
    fake.state.customers.set('cus_fixed', { id: 'cus_fixed', name: 'bad', email: null, metadata: {}, created: 0 });
    await linkStripeCustomer(store.admin, bad.id, 'cus_fixed');
    expect(await retryParked(deps, { customerId: bad.id })).toBe(2);
    await runSync(deps);
    await runSync(deps);
    expect(fake.state.totals().get('cus_fixed|tollgate_input_tokens')).toBe(35);
    expect(stripeTotals()).toEqual(ledger());
    expect(await listParked(deps)).toEqual([]);
  });

  test('usage of a customer without a Stripe id waits in the outbox until the customer is linked', async () => {
    const c = await stripeCustomer(store, fake, 'later', false);
    insertLedger(store.sqlite, rows(c.id, 6, hourStart(3)));
    const first = await runSync(deps);
    expect(first.claimed.rows).toBe(6);
    expect(first.sent.calls).toBe(0);
    expect(outbox().map((r) => r.status)).toEqual(['pending', 'pending']);
    fake.state.customers.set('cus_later', { id: 'cus_later', name: 'later', email: null, metadata: {}, created: 0 });
    await linkStripeCustomer(store.admin, c.id, 'cus_later');
    await runSync(deps);
    expect(fake.state.totals().get('cus_later|tollgate_requests')).toBe(6);
  });

  test("usage older than Stripe's 35 days is marked expired and reported, never sent or dropped silently", async () => {
    const c = await stripeCustomer(store, fake, 'old');
    insertLedger(store.sqlite, [...rows(c.id, 3, Date.now() - 36 * DAY_MS), ...rows(c.id, 2, Date.now() - 35 * DAY_MS + 2 * HOUR_MS)]);
    const report = await runSync(deps);
    expect(report.expired).toHaveLength(2);
    expect(report.expired.map((e) => e.value).sort()).toEqual([15, 3]);
    // The bucket just inside the window is sent, stamped inside both the bucket and Stripe's window.
    expect(fake.state.totals().get(`${c.stripeCustomerId}|tollgate_requests`)).toBe(2);
    expect(outbox().filter((r) => r.status === 'expired').every((r) => /35-day/.test(r.reason))).toBe(true);
  });

  test('a send that may have reached Stripe more than 24 h ago is checked against summaries before any resend', async () => {
    const c = await stripeCustomer(store, fake, 'unsure');
    insertLedger(store.sqlite, [...rows(c.id, 4, hourStart(3)), ...rows(c.id, 9, hourStart(2))]);
    // Hour 3's requests event is applied but its answer never comes; hour 2's is lost before Stripe applies it.
    const once = { ...deps, settings: { ...deps.settings, maxTries: 1 } };
    fake.inject({ kind: 'applied_timeout', path: '/v1/billing/meter_events', times: 1 });
    fake.inject({ kind: 'timeout', path: '/v1/billing/meter_events', times: 1 });
    const first = await runSync(once);
    expect(first.sent.deferred).toBe(2);
    // A day passes: Stripe no longer deduplicates these identifiers, so a blind resend would bill twice.
    fake.state.advance(25 * HOUR_MS);
    store.clock.shift = 25 * HOUR_MS;
    const second = await runSync(deps);
    // The pass stopped after the failures, so the two input-token rows were taken but never sent: four
    // uncertain buckets, of which Stripe's summaries show exactly one (hour 3's requests) arrived.
    expect(second.verified).toMatchObject({ buckets: 4, confirmed: 1, rearmed: 3, parked: 0 });
    expect(fake.count('/v1/billing/meters/')).toBe(4);
    expect(stripeTotals()).toEqual(ledger());
  });

  test('two syncs at once (server job and CLI) claim and send every row exactly once', async () => {
    const customers = await Promise.all([1, 2, 3, 4].map((i) => stripeCustomer(store, fake, `both${i}`)));
    for (const c of customers) insertLedger(store.sqlite, [...rows(c.id, 50, hourStart(1)), ...rows(c.id, 30, hourStart(2))]);
    const other = openBillingStore(store.path);
    const [a, b] = await Promise.all([runSync(deps, { sliceRows: 7 }), runSync(other.billing(fake), { sliceRows: 11 })]);
    expect(a.claimed.rows + b.claimed.rows).toBe(320);
    expect(stripeTotals()).toEqual(ledger());
    other.close();
  });
});

