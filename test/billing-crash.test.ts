import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BILLING_METERS } from '../src/domain/billing/meters';
import { HOUR_MS } from '../src/domain/billing/time';
import { setupBilling } from '../src/services/billing/setup.service';
import { insertLedger, ledgerTotals, openBillingStore, sorted, stripeCustomer, type BillingStore } from './support/fake-stripe/harness';
import { FAKE_STRIPE_KEY, startFakeStripe, type FakeStripe } from './support/fake-stripe/server';

const BIN = resolve(import.meta.dirname, '../bin/tollgate.js');

let fake: FakeStripe;
let store: BillingStore;
const customers: string[] = [];

beforeAll(async () => {
  fake = await startFakeStripe({ latencyMs: 2 });
  store = openBillingStore();
  await setupBilling(store.billing(fake));
  for (let c = 0; c < 40; c++) customers.push((await stripeCustomer(store, fake, `crash${c}`)).id);
});

afterAll(async () => {
  store.close();
  await fake.close();
});

/** Adds usage for every customer over `hours` past hours (new rows land in already-sent buckets too). */
function addUsage(rowsPerCustomer: number, hours: number): void {
  const base = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  insertLedger(
    store.sqlite,
    customers.flatMap((customerId, c) =>
      Array.from({ length: rowsPerCustomer }, (_, i) => ({
        customerId,
        startedAt: base - (1 + ((i + c) % hours)) * HOUR_MS + i,
        prompt: 1 + (i % 9),
        completion: i % 4,
        predictions: i % 6 === 0 ? 3 : 0,
      })),
    ),
  );
}

/** Runs `tollgate billing sync` as a child process; SIGKILLs it as soon as `killWhen` holds. */
function syncProcess(killWhen: (() => boolean) | null, env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; output: string }> {
  const child = spawn(process.execPath, [BIN, 'billing', 'sync', '--json', '--slice-rows', '3000'], {
    env: { ...process.env, TOLLGATE_DB: store.path, STRIPE_SECRET_KEY: FAKE_STRIPE_KEY, STRIPE_API_URL: fake.url, TOLLGATE_STRIPE_TIMEOUT: '1s', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const poll = killWhen
    ? setInterval(() => {
        if (killWhen()) child.kill('SIGKILL');
      }, 1)
    : null;
  return new Promise((done) =>
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      done({ code, signal, output });
    }),
  );
}

const cursor = () => store.sqlite.prepare("select value from billing_state where name = 'claim_cursor'").pluck().get() as number | undefined;
const maxRowid = () => store.sqlite.prepare('select max(rowid) from usage_events').pluck().get() as number;
const meterCalls = () => fake.count('/v1/billing/meter_events') + fake.count('/v2/billing/meter_event_stream');

/** Stripe never holds more than the ledger for any customer and meter, even halfway through a sync. */
function expectNeverOverbilled(): void {
  const ledger = ledgerTotals(store.sqlite, BILLING_METERS);
  for (const [key, value] of fake.state.totals()) expect(value, key).toBeLessThanOrEqual(ledger.get(key) ?? 0);
}

describe('billing sync killed with SIGKILL at any point', { timeout: 120_000 }, () => {
  test('every kill, then a rerun, leaves Stripe with exactly the ledger totals', async () => {
    addUsage(1_000, 4);
    const total = maxRowid();
    const kills: Array<{ name: string; when: () => boolean; env?: Record<string, string> }> = [
      { name: 'mid-claim', when: () => (cursor() ?? 0) > 0 && (cursor() ?? 0) < total },
      { name: 'at the first meter event', when: () => meterCalls() >= 1 },
      { name: 'mid-send', when: () => meterCalls() >= 150 },
      { name: 'after a response was lost', when: () => fake.requests.some((r) => r.status === 'dropped') },
      { name: 'mid-stream', when: () => fake.count('/v2/billing/meter_event_stream') >= 2, env: { TOLLGATE_BILLING_STREAM_MIN: '20' } },
    ];
    let before = meterCalls();
    for (const kill of kills) {
      if (kill.name === 'after a response was lost') fake.inject({ kind: 'lost_response', path: '/v', rate: 0.2 });
      const start = meterCalls();
      const run = await syncProcess(() => kill.when() && meterCalls() >= start, kill.env);
      fake.faults.clear();
      expect(run.signal, `${kill.name}: ${run.output}`).toBe('SIGKILL');
      expectNeverOverbilled();
      addUsage(30, 3);
      before = meterCalls();
    }
    const final = await syncProcess(null);
    expect(final.code, final.output).toBe(0);
    expect(meterCalls()).toBeGreaterThan(before);
    expect(sorted(fake.state.totals())).toEqual(sorted(ledgerTotals(store.sqlite, BILLING_METERS)));
    expect(fake.contractRefusals).toEqual([]);
    expect(fake.concurrencyRejections).toBe(0);
  });
});
