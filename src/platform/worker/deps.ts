import { drizzle } from 'drizzle-orm/d1';
import type { Config } from '../../config';
import type { Deps } from '../../context';
import { listCustomers } from '../../db/repos/customers.repo';
import * as schema from '../../db/schema';
import type { Db } from '../../db/types';
import { buildBillingRuntime } from '../../services/billing/billing-runtime';
import { adminAuthSettings, createAdminTokenVerifier } from '../../services/admin-token.service';
import { createChangeWatch, type ChangeWatch } from '../../services/change-watch';
import { ModelCatalog } from '../../services/model-catalog.service';
import { KeyVerifier } from '../../services/verify-key.service';
import { DurableLedger, DurableLimits } from './durable-limits';
import type { WorkerEnv } from './env';
import { FetchUpstream } from './fetch-upstream';
import { workerLog } from './log';

/**
 * The Workers composition root: the same Deps as Node, over D1, the customers' Durable Objects and fetch.
 * Built once per isolate. Keys and models are cached in the isolate for at most a second (a revocation
 * made anywhere is seen everywhere within it); admin writes made in this isolate drop its caches at once.
 */
export function buildWorkerDeps(env: WorkerEnv, config: Config, vars: Record<string, string | undefined>): Deps {
  const db = drizzle(env.DB, { schema }) as unknown as Db;
  const watch = createChangeWatch(() => Math.floor(Date.now() / 1000));
  // Admin writes in this isolate drop its caches at once and tell each customer object it calls next.
  let changedAt = 0;
  const changes: ChangeWatch = {
    ...watch,
    changed() {
      changedAt = Date.now();
      watch.changed();
    },
  };
  const now = () => Date.now();
  const log = workerLog(env);
  const adminAuth = adminAuthSettings(config);
  const deps: Deps = {
    db,
    now,
    changes,
    keys: new KeyVerifier(db, now, changes, config.TOLLGATE_KEY_CACHE_SIZE),
    models: new ModelCatalog(db, changes),
    ledger: new DurableLedger(env.CUSTOMERS, async () => (await listCustomers(db)).map((c) => c.id)),
    limiter: new DurableLimits(env.CUSTOMERS, () => changedAt),
    upstream: new FetchUpstream(),
    secret: (name) => vars[name],
    // The request's signal says when the client left (compatibility flag enable_request_signal).
    clientGone: () => false,
    clientSignal: (request) => request.signal,
    keepAlive: (c, work) => c.executionCtx.waitUntil(work),
    adminAuth: adminAuth ? createAdminTokenVerifier(adminAuth, now) : null,
    limits: { maxBodyBytes: config.TOLLGATE_MAX_BODY_BYTES, maxResponseBytes: config.TOLLGATE_MAX_RESPONSE_BYTES },
    log,
  };
  deps.billing = buildBillingRuntime(config, deps);
  return deps;
}
