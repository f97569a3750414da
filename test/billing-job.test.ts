import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BILLING_METERS } from '../src/domain/billing/meters';
import { HOUR_MS } from '../src/domain/billing/time';
import { startBillingSyncJob } from '../src/platform/node/billing-job';
import { setupBilling } from '../src/services/billing/setup.service';
import { insertLedger, ledgerTotals, openBillingStore, sorted, stripeCustomer, type BillingStore } from './support/fake-stripe/harness';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/server';

let fake: FakeStripe;
let store: BillingStore;

beforeAll(async () => {
  fake = await startFakeStripe();
  store = openBillingStore();
});

afterAll(async () => {
  store.close();
  await fake.close();
});

/** The longest the event loop was held during `run`, in ms (what a request arriving then would wait). */
async function maxLag(run: () => Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 2 });
  histogram.enable();
  await run();
  histogram.disable();
  return histogram.max / 1e6;
}

describe('the server sync job', { timeout: 60_000 }, () => {
  test('works through a 100,000-row backlog in small batches: the event loop is never held long', async () => {
    const deps = store.billing(fake);
    await setupBilling(deps);
    const ids: string[] = [];
    for (let c = 0; c < 200; c++) ids.push((await stripeCustomer(store, fake, `job${c}`)).id);
    const base = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 7 * HOUR_MS;
    insertLedger(
      store.sqlite,
      Array.from({ length: 100_000 }, (_, i) => ({ customerId: ids[i % ids.length], startedAt: base + Math.floor((i / 100_000) * 6 * HOUR_MS), prompt: 5, completion: 2, predictions: i % 3 })),
    );
    const job = startBillingSyncJob(deps, 3_600_000);
    const lag = await maxLag(() => job.runNow());
    await job.stop();
    expect(sorted(fake.state.totals())).toEqual(sorted(ledgerTotals(store.sqlite, BILLING_METERS)));
    expect(lag).toBeLessThan(100);
  });
});
