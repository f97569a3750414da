import type Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../../src/db/types';
import { METER_EVENT_NAMES, type BillingMeter } from '../../../src/domain/billing/meters';
import { migrateSqlite, openSqlite } from '../../../src/platform/node/sqlite';
import type { AdminDeps } from '../../../src/services/admin';
import { DEFAULT_BILLING_SETTINGS, type BillingDeps, type BillingSettings } from '../../../src/services/billing/billing-deps';
import { createStripeBillingClient } from '../../../src/services/billing/stripe-billing-client';
import { createChangeWatch } from '../../../src/services/change-watch';
import { createCustomer } from '../../../src/services/customers.service';
import { FAKE_STRIPE_KEY, type FakeStripe } from './server';

/** A migrated SQLite file in a temp folder, with admin and billing deps on it. */
export interface BillingStore {
  path: string;
  sqlite: Database.Database;
  db: Db;
  admin: AdminDeps;
  /** The clock billing reads: real time plus `shift` (tests move it with `fake.state.advance` in step). */
  clock: { shift: number; now(): number };
  billing(fake: FakeStripe, settings?: Partial<BillingSettings>): BillingDeps;
  close(): void;
}

/** Opens a fresh store for a billing test, or a second connection to `existing` (as another process would). */
export function openBillingStore(existing?: string): BillingStore {
  const dir = existing ? null : mkdtempSync(join(tmpdir(), 'tollgate-billing-'));
  const path = existing ?? join(dir!, 'tollgate.db');
  const store = openSqlite(path);
  migrateSqlite(store);
  const db = store.db as unknown as Db;
  const clock = { shift: 0, now: () => Date.now() + clock.shift };
  const admin: AdminDeps = { db, now: clock.now, changes: createChangeWatch() };
  return {
    path,
    sqlite: store.sqlite,
    db,
    admin,
    clock,
    billing: (fake, settings = {}) => ({
      db,
      now: clock.now,
      changes: admin.changes,
      log: () => {},
      client: createStripeBillingClient({ secretKey: FAKE_STRIPE_KEY, apiUrl: fake.url, timeoutMs: 200, now: clock.now }),
      settings: { ...DEFAULT_BILLING_SETTINGS, retryBaseMs: 5, retryMaxMs: 40, ...settings },
    }),
    close() {
      store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A customer linked to a new customer at the fake Stripe (or unlinked with `linked: false`). */
export async function stripeCustomer(store: BillingStore, fake: FakeStripe, name: string, linked = true) {
  const stripeId = linked ? `cus_${name.replace(/\W/g, '')}${Math.random().toString(36).slice(2, 10)}` : null;
  if (stripeId) fake.state.customers.set(stripeId, { id: stripeId, name, email: null, metadata: {}, created: Math.floor(Date.now() / 1000) });
  return createCustomer(store.admin, { name, stripeCustomerId: stripeId });
}

/** One ledger row to insert (defaults: a successful chat call). */
export interface LedgerInput {
  customerId: string;
  startedAt: number;
  status?: number;
  prompt?: number;
  completion?: number;
  predictions?: number;
  estimated?: boolean;
}

let seq = 0;

/** Inserts ledger rows straight into `usage_events`, as the gateway's group commit would. */
export function insertLedger(sqlite: Database.Database, rows: LedgerInput[]): void {
  const insert = sqlite.prepare(
    `insert into usage_events (id, key_id, customer_id, model, route, status, stream, prompt_tokens, completion_tokens, predictions, estimated, started_at, finished_at)
     values (?, 'key_test', ?, 'chat', 'chat', ?, 0, ?, ?, ?, ?, ?, ?)`,
  );
  sqlite.transaction(() => {
    for (const r of rows) {
      insert.run(`req_t${++seq}_${Math.random().toString(36).slice(2)}`, r.customerId, r.status ?? 200, r.prompt ?? 0, r.completion ?? 0, r.predictions ?? 0, r.estimated ? 1 : 0, r.startedAt, r.startedAt + 5);
    }
  })();
}

const LEDGER_SUM: Record<BillingMeter, string> = {
  requests: 'sum(case when u.status < 400 or u.estimated = 1 then 1 else 0 end)',
  input_tokens: 'sum(u.prompt_tokens)',
  output_tokens: 'sum(u.completion_tokens)',
  predictions: 'sum(u.predictions)',
};

/** The ledger's billable totals keyed `stripe customer|event name` (linked customers; zero totals left out). */
export function ledgerTotals(sqlite: Database.Database, meters: readonly BillingMeter[], since = 0): Map<string, number> {
  const out = new Map<string, number>();
  for (const meter of meters) {
    const rows = sqlite
      .prepare(`select c.stripe_customer_id as s, ${LEDGER_SUM[meter]} as v from usage_events u join customers c on c.id = u.customer_id
                where c.stripe_customer_id is not null and u.started_at >= ? group by c.stripe_customer_id`)
      .all(since) as Array<{ s: string; v: number }>;
    for (const r of rows) if (r.v) out.set(`${r.s}|${METER_EVENT_NAMES[meter]}`, r.v);
  }
  return out;
}

/** The fake Stripe's totals as a sorted plain object (for readable equality failures). */
export const sorted = (m: Map<string, number>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
