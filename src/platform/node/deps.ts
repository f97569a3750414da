import type { Config } from '../../config';
import type { Deps } from '../../context';
import type { Db } from '../../db/types';
import { adminAuthSettings, createAdminTokenVerifier } from '../../services/admin-token.service';
import { createChangeWatch } from '../../services/change-watch';
import { ModelCatalog } from '../../services/model-catalog.service';
import { KeyVerifier } from '../../services/verify-key.service';
import { MemoryLimits } from '../../services/limits/engine';
import { PlanLimitsCache } from '../../services/limits/plan-cache';
import { SubjectStore, sqliteLedgerTotals } from '../../services/limits/subjects';
import type { AlertSink } from '../../services/limits/types';
import { swaggerUiAssets } from './docs-assets';
import { GroupCommitLedger } from './group-commit-ledger';
import type { SqliteStore } from './sqlite';
import { UndiciUpstream } from './undici-upstream';

/** The Node composition root: builds every dependency the app reads from `c.var.deps`. */
export function buildNodeDeps(
  store: SqliteStore,
  config: Config,
  env: Record<string, string | undefined> = process.env,
  alerts: AlertSink = { crossed: () => {} },
): Deps {
  const db = store.db as unknown as Db;
  const changes = createChangeWatch(oncePerTurn(store.sqlite.prepare('PRAGMA data_version').pluck()));
  const now = () => Date.now();
  const quiet = config.TOLLGATE_LOG === 'silent';
  const adminAuth = adminAuthSettings(config);
  const ledger = new GroupCommitLedger(store.sqlite);
  // The subject store reads the ledger right after this: it must commit synchronously (see SubjectStore).
  const subjects = new SubjectStore(sqliteLedgerTotals(db, db, () => ledger.commit()));
  changes.subscribe(() => subjects.staleGrants());
  setInterval(() => subjects.evictIdle(now()), 60_000).unref();
  return {
    db,
    now,
    changes,
    keys: new KeyVerifier(db, now, changes, config.TOLLGATE_KEY_CACHE_SIZE),
    models: new ModelCatalog(db, changes),
    ledger,
    limiter: new MemoryLimits(new PlanLimitsCache(db, changes), subjects, now, alerts),
    upstream: new UndiciUpstream(),
    secret: (name) => env[name],
    clientGone: (bindings) => (bindings as { outgoing?: { destroyed?: boolean } } | undefined)?.outgoing?.destroyed === true,
    adminAuth: adminAuth ? createAdminTokenVerifier(adminAuth, now) : null,
    docsAsset: swaggerUiAssets(),
    limits: { maxBodyBytes: config.TOLLGATE_MAX_BODY_BYTES, maxResponseBytes: config.TOLLGATE_MAX_RESPONSE_BYTES },
    log: (level, message, fields) => {
      if (quiet && level === 'info') return;
      const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
      (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
    },
  };
}

/**
 * SQLite's data_version, read at most once per event-loop turn. Sound for "revoked on the very next
 * request": every request handled in a turn arrived before that turn's I/O poll returned, and the first
 * request of the turn reads the version after it — so any commit that finished before a request was sent
 * is seen. The next turn (after setImmediate) reads it again.
 */
function oncePerTurn(statement: { get(): unknown }): () => number {
  let cached = 0;
  let fresh = false;
  return () => {
    if (!fresh) {
      cached = statement.get() as number;
      fresh = true;
      setImmediate(() => {
        fresh = false;
      });
    }
    return cached;
  };
}
