import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from '../src/db/types';
import { encodeBase62 } from '../src/domain/base62';
import { mintKey } from '../src/domain/api-key';
import { createChangeWatch } from '../src/services/change-watch';
import { createCustomer } from '../src/services/customers.service';
import { createKey } from '../src/services/keys.service';
import { createPlan } from '../src/services/plans.service';
import { addModel } from '../src/services/models.service';
import { migrateSqlite, openSqlite } from '../src/platform/node/sqlite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CACHE_DIR = fileURLToPath(new URL('.cache/', import.meta.url));

/** What the load needs to call the gateway: the customer, and the key secrets to send. */
export interface BenchTenant {
  customerId: string;
  keyId: string;
  secret: string;
}

/**
 * Migrates `path` (new or copied from the cache) and adds, through the admin services, one customer
 * (on a plan with `limits`, when given), model `bench` → the upstream (openai protocol) and one key.
 */
export async function seedTenant(path: string, upstreamUrl: string, limits?: Record<string, unknown>): Promise<BenchTenant> {
  const store = openSqlite(path, 'normal');
  try {
    migrateSqlite(store);
    const deps = { db: store.db as unknown as Db, now: () => Date.now(), changes: createChangeWatch() };
    const plan = limits ? await createPlan(deps, { name: 'bench', limits }) : null;
    const customer = await createCustomer(deps, { name: 'bench', plan: plan?.id ?? null });
    await addModel(deps, { name: 'bench', backends: [{ protocol: 'openai', url: `${upstreamUrl}/v1` }] });
    const { key, secret } = await createKey(deps, customer.id, { name: 'bench' });
    return { customerId: customer.id, keyId: key.id, secret };
  } finally {
    store.close();
  }
}

/**
 * Adds `total` keys for the customer in one transaction: `real` of them are minted keys whose secrets are
 * returned (so the load can present them), the rest carry unique random 64-hex hashes.
 */
export function seedKeys(path: string, customerId: string, total: number, real: number): string[] {
  const sqlite = new Database(path);
  try {
    const insert = sqlite.prepare(
      `INSERT INTO api_keys (id, customer_id, name, hash, display_prefix, environment, allowed_models, expires_at, revoked_at, rolled_to, created_at)
       VALUES (?, ?, NULL, ?, ?, 'live', NULL, NULL, NULL, NULL, ?)`,
    );
    const secrets: string[] = [];
    const now = Date.now();
    const stamp = encodeBase62(now, 8);
    const noise = randomBytes(32 * total);
    sqlite.transaction(() => {
      for (let i = 0; i < total; i++) {
        let hash: string;
        let prefix: string;
        if (i < real) {
          const minted = mintKey('live');
          secrets.push(minted.secret);
          hash = minted.hash;
          prefix = minted.displayPrefix;
        } else {
          hash = noise.toString('hex', i * 32, i * 32 + 32);
          prefix = `tg_live_${hash.slice(0, 4)}`;
        }
        insert.run(`key_${stamp}${encodeBase62(i, 12)}`, customerId, hash, prefix, now);
      }
    })();
    return secrets;
  } finally {
    sqlite.close();
  }
}

const USAGE_RAW = JSON.stringify({ prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 });
const DAY = 86_400_000;

/**
 * A migrated database holding `rows` ledger rows, built once and cached under bench/.cache/ (keyed by
 * row count; migrations added later are applied to each copy by seedTenant). Rows spread over 1,000 customers × 5 keys and the past 30 days, with
 * time-ordered `req_…` ids like the gateway's.
 */
export async function ledgerDatabase(rows: number, log: (line: string) => void): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = `${CACHE_DIR}ledger-${rows}.db`;
  if (existsSync(path)) {
    log(`  ledger: using cached ${rows.toLocaleString('en-US')}-row database ${path.slice(ROOT.length)}`);
    return path;
  }
  const tmp = `${path}.building`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(tmp + suffix, { force: true });
  const store = openSqlite(tmp, 'normal');
  migrateSqlite(store);
  store.close();

  const sqlite = new Database(tmp);
  sqlite.pragma('journal_mode = OFF');
  sqlite.pragma('synchronous = OFF');
  sqlite.pragma('cache_size = -1048576');
  const insert = sqlite.prepare(
    `INSERT INTO usage_events (id, key_id, customer_id, model, backend_id, route, status, stream, prompt_tokens,
       completion_tokens, cached_tokens, reasoning_tokens, predictions, estimated, error_code, usage_raw, started_at, finished_at)
     VALUES (?, ?, ?, 'seed-model', 'bk_seed', 'chat', 200, 0, ?, ?, 0, 0, 0, 0, NULL, ?, ?, ?)`,
  );
  const BATCH = 50_000;
  const start = Date.now() - 30 * DAY;
  const step = (30 * DAY) / rows;
  const insertBatch = sqlite.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const t = Math.floor(start + i * step);
      const c = (i * 7919) % 1000;
      const k = (c * 5 + (i % 5)) % 5000;
      insert.run(
        `req_${encodeBase62(t, 8)}${encodeBase62(i, 12)}`,
        `key_seed${String(k).padStart(5, '0')}`,
        `cus_seed${String(c).padStart(4, '0')}`,
        10 + (i % 200),
        5 + (i % 50),
        USAGE_RAW,
        t,
        t + 300,
      );
    }
  });
  const began = Date.now();
  let lastLog = began;
  for (let from = 0; from < rows; from += BATCH) {
    const to = Math.min(rows, from + BATCH);
    insertBatch(from, to);
    if (Date.now() - lastLog > 2_000 || to === rows) {
      lastLog = Date.now();
      const secs = (lastLog - began) / 1000;
      log(`  seeding ledger: ${to.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} rows (${secs.toFixed(0)} s, ${Math.round(to / secs).toLocaleString('en-US')} rows/s)`);
    }
  }
  sqlite.pragma('journal_mode = WAL');
  sqlite.close();
  renameSync(tmp, path);
  return path;
}

/** Copies a cached database to `dest` so a run never changes the cache. */
export function copyDatabase(source: string, dest: string): void {
  copyFileSync(source, dest);
}

/** Ledger rows in the database (read after the gateway has stopped). */
export function countLedgerRows(path: string): number {
  const sqlite = new Database(path);
  try {
    return sqlite.prepare('SELECT count(*) FROM usage_events').pluck().get() as number;
  } finally {
    sqlite.close();
  }
}
