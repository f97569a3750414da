import { DurableObject } from 'cloudflare:workers';
import { drizzle as drizzleDo } from 'drizzle-orm/durable-sqlite';
import { drizzle as drizzleD1 } from 'drizzle-orm/d1';
import { findKeyById } from '../../db/repos/keys.repo';
import * as schema from '../../db/schema';
import type { NewUsageEvent } from '../../db/schema';
import type { Db } from '../../db/types';
import { ServiceError } from '../../domain/errors';
import { AlertRecorder } from '../../services/alerts/alert-recorder';
import { createChangeWatch, type ChangeWatch } from '../../services/change-watch';
import { MemoryLimits } from '../../services/limits/engine';
import { PlanLimitsCache } from '../../services/limits/plan-cache';
import { SubjectStore, sqliteLedgerTotals } from '../../services/limits/subjects';
import type { LimitCaller, LimitView, Reservation, ReserveRequest } from '../../services/limits/types';
import { NO_UNITS, type Units } from '../../backends/types';
import { copyStatement, LedgerStore } from './ledger-store';
import { parseConfig } from '../../config';
import { stringVars, type WorkerEnv } from './env';
import { workerLog } from './log';

/** What reserving answers over RPC (errors lose their class on the way, so a refusal is data). */
export type GateReserveAnswer =
  | { ok: true; headers: Array<[string, string]>; tokenCap: number | null }
  | { ok: false; code: ServiceError['code']; message: string; headers: Array<[string, string]> };

/** Rows per D1 batch (each row is one statement of 19 bound values; D1 allows 100 per statement). */
const COPY_BATCH = 100;
/** A reservation whose call has not settled after this long is released (its request died with its isolate). */
export const STALE_RESERVATION_MS = 15 * 60_000;
/** How often the object looks at held reservations while any exist. */
const SWEEP_EVERY_MS = 60_000;

/**
 * One customer's gate: the single writer of that customer's limits, reservations and ledger rows,
 * everywhere in the network. Every keyed request reserves here before it is forwarded and commits its
 * ledger row here after the backend answers; the row is in this object's SQLite storage before the
 * commit call returns (the runtime holds the answer until the write is durable). An alarm copies rows to
 * D1 in batches, idempotently, for reports and billing.
 *
 * The limits engine is the same one Node runs in-process: its counters start from this object's ledger,
 * plans come from D1 and are re-read at most a second after they change.
 */
export class CustomerGate extends DurableObject<WorkerEnv> {
  private readonly ledger: LedgerStore;
  private readonly engine: MemoryLimits;
  private readonly changes: ChangeWatch;
  private readonly admin: Db;
  /** Calls that reserved here and have not committed: their reservation (null when the plan limits nothing). */
  private readonly held = new Map<string, { reservation: Reservation | null; at: number }>();
  private copying: Promise<number> | null = null;
  /** The newest admin change a caller told this object about (see DurableLimits). */
  private heardChange = 0;
  /** How long after a commit the rows are copied to D1 (TOLLGATE_LEDGER_COPY_DELAY_MS). */
  private readonly copyDelayMs: number;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    this.copyDelayMs = parseConfig(stringVars(env)).TOLLGATE_LEDGER_COPY_DELAY_MS;
    this.ledger = new LedgerStore(ctx.storage.sql);
    this.admin = drizzleD1(env.DB, { schema }) as unknown as Db;
    const local = drizzleDo(ctx.storage, { schema }) as unknown as Db;
    // Admin data is cached for at most a second: revocations and plan edits reach every object within it.
    this.changes = createChangeWatch(() => Math.floor(Date.now() / 1000));
    const subjects = new SubjectStore(sqliteLedgerTotals(local, this.admin));
    this.changes.subscribe(() => subjects.dropCredits());
    const log = workerLog(env);
    const alerts = new AlertRecorder(this.admin, log, () => {}, (run) => void ctx.waitUntil(Promise.resolve().then(run)));
    this.engine = new MemoryLimits(new PlanLimitsCache(this.admin, this.changes), subjects, () => Date.now(), alerts);
  }

  /** Reserves a call's possible cost, or says why not. */
  async reserve(caller: LimitCaller, request: ReserveRequest, changedAt = 0): Promise<GateReserveAnswer> {
    this.hear(changedAt);
    try {
      const { reservation, headers, tokenCap } = await this.engine.reserve(caller, request);
      if (request.callId) {
        this.held.set(request.callId, { reservation, at: Date.now() });
        if (reservation) await this.ensureAlarm(SWEEP_EVERY_MS);
      }
      return { ok: true, headers, tokenCap };
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      return { ok: false, code: error.code, message: error.message, headers: error.headers.map(([n, v]) => [n, v]) };
    }
  }

  /**
   * Settles the call's reservation with the units in its ledger row, prices it, and writes the row.
   * Returns the call's cost. A second commit of the same call changes nothing.
   */
  async commit(row: NewUsageEvent): Promise<number> {
    this.changes.poll();
    const billable = row.status < 400 || row.estimated === true;
    const units: Units = billable ? unitsOf(row) : NO_UNITS;
    const entry = this.held.get(row.id);
    let cost: number;
    if (entry) {
      this.held.delete(row.id);
      cost = this.engine.settle(entry.reservation, units, billable);
    } else if (billable && !this.known(row.id)) {
      // No reservation here (this object restarted, or the sweep released it): price and count it anyway.
      const caller = await this.callerOf(row);
      const limits = await this.engine.limitsOf(caller);
      if (this.known(row.id)) return 0;
      cost = this.engine.settleUnreserved(limits, caller, row.model, units, billable, row.startedAt);
    } else {
      cost = 0;
    }
    this.ledger.insert({ ...row, costMicros: cost });
    await this.ensureAlarm(this.copyDelayMs);
    return cost;
  }

  /** Every limit's state for this caller (GET /v1/usage). */
  async describe(caller: LimitCaller, changedAt = 0): Promise<LimitView[]> {
    this.hear(changedAt);
    return this.engine.describe(caller);
  }

  /** The rate-limit response fields for a keyed answer that reserved nothing. */
  async peekHeaders(caller: LimitCaller, changedAt = 0): Promise<Array<[string, string]>> {
    this.hear(changedAt);
    return this.engine.peekHeaders(caller);
  }

  /** Copies every row not yet in D1 there now; resolves when D1 has them. Returns how many were copied. */
  async copyNow(): Promise<number> {
    while (this.copying) await this.copying;
    this.copying = this.copyAll();
    try {
      return await this.copying;
    } finally {
      this.copying = null;
    }
  }

  /** Rows in this object's ledger and how many of them D1 has (reports and tests). */
  async ledgerState(): Promise<{ rows: number; copied: number; held: number; columns: string[] }> {
    const rows = this.ctx.storage.sql.exec('SELECT count(*) AS n FROM usage_events').one().n as number;
    const copied = this.ctx.storage.sql.exec('SELECT count(*) AS n FROM usage_events WHERE rowid <= ?', this.ledger.copied()).one().n as number;
    return { rows, copied, held: this.held.size, columns: this.ledger.columns() };
  }

  /** Copies rows to D1; releases reservations whose calls died; comes back while any are held. */
  async alarm(): Promise<void> {
    await this.copyNow();
    const now = Date.now();
    for (const [id, entry] of this.held) {
      if (now - entry.at < STALE_RESERVATION_MS) continue;
      this.engine.settle(entry.reservation, NO_UNITS, false);
      this.held.delete(id);
    }
    if (this.held.size > 0) await this.ctx.storage.setAlarm(now + SWEEP_EVERY_MS);
  }

  private async copyAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = this.ledger.pending(COPY_BATCH);
      if (batch.rows.length === 0) return total;
      await this.env.DB.batch(batch.rows.map((values) => copyStatement(this.env.DB, values)));
      this.ledger.markCopied(batch.last);
      total += batch.rows.length;
    }
  }

  private async ensureAlarm(inMs: number): Promise<void> {
    const at = Date.now() + inMs;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Drops cached admin data older than a second, or older than a change a caller reports. */
  private hear(changedAt: number): void {
    if (changedAt > this.heardChange) {
      this.heardChange = changedAt;
      this.changes.changed();
    }
    this.changes.poll();
  }

  private known(id: string): boolean {
    return this.ctx.storage.sql.exec('SELECT 1 FROM usage_events WHERE id = ?', id).toArray().length > 0;
  }

  /** The plan a key had, for a call whose reservation this object no longer holds. */
  private async callerOf(row: NewUsageEvent): Promise<LimitCaller> {
    const found = await findKeyById(this.admin, row.keyId);
    return { keyId: row.keyId, customerId: row.customerId, planId: found?.planId ?? null, limitOverrides: found?.key.limitOverrides ?? null };
  }
}

function unitsOf(row: NewUsageEvent): Units {
  return {
    promptTokens: row.promptTokens ?? 0,
    completionTokens: row.completionTokens ?? 0,
    cachedTokens: row.cachedTokens ?? 0,
    reasoningTokens: row.reasoningTokens ?? 0,
    predictions: row.predictions ?? 0,
    raw: row.usageRaw ?? null,
    estimated: row.estimated === true,
  };
}
