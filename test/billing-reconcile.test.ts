import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { BILLING_METERS } from '../src/domain/billing/meters';
import { DAY_MS, HOUR_MS } from '../src/domain/billing/time';
import type { BillingDeps } from '../src/services/billing/billing-deps';
import { listBillingMeters } from '../src/db/repos/billing-meters.repo';
import { reconcile, type ReconcileReport } from '../src/services/billing/reconcile.service';
import { repairDrift } from '../src/services/billing/repair.service';
import { setupBilling } from '../src/services/billing/setup.service';
import { runSync } from '../src/services/billing/sync.service';
import { insertLedger, ledgerTotals, openBillingStore, sorted, stripeCustomer, type BillingStore } from './support/fake-stripe/harness';
import { FAKE_STRIPE_KEY, startFakeStripe, type FakeStripe } from './support/fake-stripe/server';

const BIN = resolve(import.meta.dirname, '../bin/tollgate.js');
let fake: FakeStripe;
let store: BillingStore;
let deps: BillingDeps;

beforeEach(async () => {
  fake = await startFakeStripe();
  store = openBillingStore();
  deps = store.billing(fake);
});

afterEach(async () => {
  expect(fake.contractRefusals).toEqual([]);
  expect(fake.responseViolations).toEqual([]);
  store.close();
  await fake.close();
});

const base = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const range = { from: base - 3 * DAY_MS, to: base + HOUR_MS };
const rows = (customerId: string, n: number, at: number) => Array.from({ length: n }, (_, i) => ({ customerId, startedAt: at + i, prompt: 10, status: i % 10 === 9 ? 500 : 200 }));
const line = (r: ReconcileReport, customerId: string, meter: string) => r.lines.filter((l) => l.customerId === customerId && l.meter === meter);
const cli = (...args: string[]) =>
  new Promise<{ code: number; json: any; stderr: string }>((done) =>
    execFile(process.execPath, [BIN, 'billing', ...args, '--json'], { env: { ...process.env, TOLLGATE_DB: store.path, STRIPE_SECRET_KEY: FAKE_STRIPE_KEY, STRIPE_API_URL: fake.url, TOLLGATE_BILLING_SUMMARY_LAG: '0' } }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code) : 0, json: stdout ? JSON.parse(stdout) : null, stderr }),
    ),
  );
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('billing reconcile', () => {
  test('after a sync: served, ledger and Stripe line up with zero drift; unsynced usage is in flight, not drift', async () => {
    await setupBilling(deps, { meters: ['requests', 'input_tokens'] });
    const a = await stripeCustomer(store, fake, 'recA');
    const unlinked = await stripeCustomer(store, fake, 'recB', false);
    insertLedger(store.sqlite, [...rows(a.id, 20, base - 26 * HOUR_MS), ...rows(a.id, 10, base - 2 * HOUR_MS), ...rows(unlinked.id, 5, base - 2 * HOUR_MS)]);
    await runSync(deps);
    const clean = await reconcile(deps, range);
    expect(clean.ok).toBe(true);
    const requests = line(clean, a.id, 'requests');
    // 30 calls served, 3 of them failed (not billable): 27 in the ledger and at Stripe, split by UTC day.
    expect(requests.map((l) => l.status)).toEqual(requests.map(() => 'ok'));
    expect(requests.every((l) => l.drift === 0 && l.stripe === l.ledger)).toBe(true);
    expect([requests.reduce((n, l) => n + l.served, 0), requests.reduce((n, l) => n + l.ledger, 0)]).toEqual([30, 27]);
    expect(line(clean, unlinked.id, 'input_tokens')[0]).toMatchObject({ status: 'unlinked', stripe: null, ledger: 50 });
    insertLedger(store.sqlite, rows(a.id, 3, base - HOUR_MS));
    const later = await reconcile(deps, range);
    expect(later.ok).toBe(true);
    expect(line(later, a.id, 'input_tokens').at(-1)).toMatchObject({ status: 'in_flight', reasons: [expect.stringMatching(/^unsynced 30: not yet claimed/)] });
  });

  test('an event deleted at Stripe is found (exit 3) and repaired with a new identifier; a late double is canceled', async () => {
    await setupBilling(deps, { meters: ['requests', 'input_tokens'] });
    const a = await stripeCustomer(store, fake, 'drift');
    insertLedger(store.sqlite, rows(a.id, 40, base - 5 * HOUR_MS));
    await runSync(deps);
    const lost = fake.state.events.find((e) => e.eventName === 'tollgate_input_tokens')!;
    fake.deleteEvent(lost.identifier);
    const found = await cli('reconcile', '--from', day(range.from), '--to', day(range.to + DAY_MS));
    expect(found.code).toBe(3);
    expect(found.json.ok).toBe(false);
    expect(found.json.lines.find((l: any) => l.meter === 'input_tokens')).toMatchObject({ status: 'drift', missingAtStripe: 400, reasons: [expect.stringContaining('missing at Stripe 400')] });
    const repaired = await cli('reconcile', '--from', day(range.from), '--to', day(range.to + DAY_MS), '--repair');
    expect(repaired.code).toBe(0);
    expect(repaired.json.repairs).toEqual([expect.objectContaining({ meter: 'input_tokens', action: 'sent', value: 400 })]);
    expect(sorted(fake.state.totals())).toEqual(sorted(ledgerTotals(store.sqlite, ['requests', 'input_tokens'])));
    const repairEvent = fake.state.events.at(-1)!;
    expect(repairEvent.identifier).toBe(lost.identifier.replace(/_0$/, '_1'));
    // A repair bills anew: its audit row (actor: the CLI's OS user) commits with it.
    const repairAudit = store.sqlite.prepare("SELECT actor, changes FROM audit_log WHERE action = 'billing.repair.send'").all() as Array<{ actor: string; changes: string }>;
    expect(repairAudit).toHaveLength(1);
    expect(repairAudit[0].actor).toMatch(/^cli:/);
    expect(JSON.parse(repairAudit[0].changes).after).toMatchObject({ meter: 'input_tokens', value: 400 });
    // The "lost" event turns up after all: Stripe now holds it twice, and the repair event is canceled.
    lost.deleted = false;
    const doubled = await reconcile(deps, range);
    expect(doubled.lines.find((l) => l.meter === 'input_tokens')).toMatchObject({ status: 'drift', extraAtStripe: 400 });
    const meters = await listBillingMeters(store.db);
    expect(await repairDrift(deps, deps.client!, meters, doubled)).toEqual([expect.objectContaining({ action: 'canceled', value: 400, detail: `canceled ${repairEvent.identifier}` })]);
    expect((await reconcile(deps, range)).ok).toBe(true);
    expect(repairEvent.canceled).toBe(true);
    expect(sorted(fake.state.totals())).toEqual(sorted(ledgerTotals(store.sqlite, ['requests', 'input_tokens'])));
  });

  test('parked, expired and never-claimed usage are drift with their reasons; a meter set up later is back-filled by repair', async () => {
    await setupBilling(deps, { meters: ['requests'] });
    const gone = await stripeCustomer(store, fake, 'gone');
    fake.state.customers.delete(gone.stripeCustomerId!);
    const old = await stripeCustomer(store, fake, 'old');
    insertLedger(store.sqlite, [...rows(gone.id, 4, base - 3 * HOUR_MS), ...rows(old.id, 6, base - 36 * DAY_MS), ...rows(old.id, 5, base - 2 * HOUR_MS)]);
    await runSync(deps);
    await setupBilling(deps, { meters: ['input_tokens'] });
    const report = await reconcile(deps, { from: base - 40 * DAY_MS, to: base + HOUR_MS });
    expect(report.ok).toBe(false);
    expect(line(report, gone.id, 'requests')[0]).toMatchObject({ status: 'drift', reasons: [expect.stringMatching(/^parked 4: 400 resource_missing: No such customer/)] });
    expect(line(report, old.id, 'requests')[0]).toMatchObject({ status: 'drift', reasons: [expect.stringMatching(/^expired 6/)] });
    expect(line(report, old.id, 'input_tokens').at(-1)).toMatchObject({ status: 'drift', notClaimed: 50, reasons: [expect.stringMatching(/^never claimed 50/)] });
    const repaired = await cli('reconcile', '--from', day(base - 40 * DAY_MS), '--to', day(base + DAY_MS), '--repair');
    expect(repaired.code).toBe(3);
    const actions = repaired.json.repairs.map((r: any) => `${r.customerId === old.id ? 'old' : 'gone'} ${r.meter} ${r.action} ${r.value}`);
    expect(actions.sort()).toEqual(['gone input_tokens sent 40', 'old input_tokens sent 50', 'old input_tokens too_old 60']);
    expect(fake.state.totals().get(`${old.stripeCustomerId}|tollgate_input_tokens`)).toBe(50);
    // What cannot be fixed by resending stays drift, explained: the unknown customer's usage is parked
    // (its back-filled input tokens too), the 36-day-old usage expired or was never claimed.
    const left = repaired.json.lines.filter((l: any) => l.status === 'drift').map((l: any) => `${l.meter} ${l.reasons.map((r: string) => r.split(':')[0]).join(', ')}`);
    expect(left.sort()).toEqual(['input_tokens never claimed 60', 'input_tokens parked 40', 'requests expired 6', 'requests parked 4']);
  });
});
