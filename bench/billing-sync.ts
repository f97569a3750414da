/**
 * Billing sync benchmark: 1,000,000 ledger rows of 1,000 customers over the last six hours, synced to a
 * local Stripe-compatible server (the test fake, driven by the real `stripe` SDK). Reports wall time and
 * Stripe calls, which follow customers × meters × hours, not rows.
 *
 *   npx tsx bench/billing-sync.ts              (BENCH_BILLING_ROWS, BENCH_BILLING_CUSTOMERS to change the size;
 *                                               BENCH_QUICK=1 for 100,000 rows)
 */
import { pathToFileURL } from 'node:url';
import { BILLING_METERS } from '../src/domain/billing/meters';
import { HOUR_MS } from '../src/domain/billing/time';
import { setupBilling } from '../src/services/billing/setup.service';
import { runSync } from '../src/services/billing/sync.service';
import { createCustomer } from '../src/services/customers.service';
import { ledgerTotals, openBillingStore, sorted } from '../test/support/fake-stripe/harness';
import { startFakeStripe } from '../test/support/fake-stripe/server';

/** What one run measured. */
export interface BillingSyncBench {
  rows: number;
  customers: number;
  seconds: number;
  stripeCalls: number;
  meterEvents: number;
  /** Stripe's totals equal the ledger's for every customer and meter. */
  exact: boolean;
}

const setting = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = raw ? Number(raw.replace(/_/g, '')) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer (got ${JSON.stringify(raw)})`);
  return value;
};

/** Seeds the ledger, runs one `billing sync` (claim + send), and checks Stripe's totals against the ledger. */
export async function runBillingSyncBench(): Promise<BillingSyncBench> {
  const rows = setting('BENCH_BILLING_ROWS', process.env.BENCH_QUICK === '1' ? 100_000 : 1_000_000);
  const customers = setting('BENCH_BILLING_CUSTOMERS', 1_000);
  const fake = await startFakeStripe();
  const store = openBillingStore();
  try {
    const deps = store.billing(fake, { retryBaseMs: 250, retryMaxMs: 15_000 });
    await setupBilling(deps);
    const ids: string[] = [];
    for (let c = 0; c < customers; c++) {
      const stripeId = `cus_bench${c}`;
      fake.state.customers.set(stripeId, { id: stripeId, name: `bench${c}`, email: null, metadata: {}, created: 0 });
      ids.push((await createCustomer(store.admin, { name: `bench-${c}`, stripeCustomerId: stripeId })).id);
    }
    const start = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 7 * HOUR_MS;
    const span = 6 * HOUR_MS - 1;
    const insert = store.sqlite.prepare(
      `insert into usage_events (id, key_id, customer_id, model, route, status, stream, prompt_tokens, completion_tokens, predictions, estimated, started_at, finished_at)
       values (?, 'key_bench', ?, 'chat', 'chat', ?, 0, ?, ?, ?, 0, ?, ?)`,
    );
    store.sqlite.transaction(() => {
      for (let i = 0; i < rows; i++) {
        const at = start + Math.floor((i / rows) * span);
        // Every fifth call of a customer is a prediction, the rest chat completions.
        const predict = Math.floor(i / customers) % 5 === 0;
        insert.run(`req_bench${i}`, ids[i % customers], i % 41 === 0 ? 500 : 200, predict ? 0 : 20 + (i % 13), predict ? 0 : 5 + (i % 7), predict ? 1 + (i % 3) : 0, at, at + 40);
      }
    })();
    const began = performance.now();
    await runSync(deps);
    const seconds = (performance.now() - began) / 1000;
    const exact = JSON.stringify(sorted(fake.state.totals())) === JSON.stringify(sorted(ledgerTotals(store.sqlite, BILLING_METERS)));
    return { rows, customers, seconds: Math.round(seconds * 100) / 100, stripeCalls: deps.client!.callCount(), meterEvents: fake.state.events.length, exact };
  } finally {
    store.close();
    await fake.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runBillingSyncBench();
  console.log(
    `billing sync: ${result.rows.toLocaleString('en')} ledger rows, ${result.customers.toLocaleString('en')} customers → ` +
      `${result.seconds} s, ${result.stripeCalls} Stripe calls, ${result.meterEvents} meter events, totals ${result.exact ? 'exact' : 'DIFFER'}`,
  );
  if (!result.exact) process.exitCode = 1;
}
