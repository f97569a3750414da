import { DurableObject } from 'cloudflare:workers';
import { drizzle as drizzleDo } from 'drizzle-orm/durable-sqlite';
import { drizzle as drizzleD1 } from 'drizzle-orm/d1';
import { parseConfig } from '../../config';
import { findKeyById } from '../../db/repos/keys.repo';
import { sumSubjectUsageBetween } from '../../db/repos/usage-totals.repo';
import * as schema from '../../db/schema';
import type { NewUsageEvent } from '../../db/schema';
import type { Db } from '../../db/types';
import { ServiceError } from '../../domain/errors';
import type { CompiledLimits } from '../../domain/limits/compile';
import { bucketSize, oldestLiveBucket } from '../../domain/limits/periods';
import { AlertRecorder } from '../../services/alerts/alert-recorder';
import { createChangeWatch, type ChangeWatch } from '../../services/change-watch';
import { MemoryLimits } from '../../services/limits/engine';
import { PlanLimitsCache } from '../../services/limits/plan-cache';
import { SubjectStore, sqliteLedgerTotals } from '../../services/limits/subjects';
import type { LimitCaller, LimitView, Reservation, ReserveRequest } from '../../services/limits/types';
import { NO_UNITS, type Units } from '../../backends/types';
import { stringVars, type WorkerEnv } from './env';
import { GateStore } from './gate-store';
import { copyStatement, LedgerStore } from './ledger-store';
import { workerLog } from './log';

/** What reserving answers over RPC (errors lose their class on the way, so a refusal is data). */
export type GateReserveAnswer =
  | { ok: true; headers: Array<[string, string]>; tokenCap: number | null }
  | { ok: false; code: ServiceError['code']; message: string; headers: Array<[string, string]> };

/** Rows per D1 batch (each row is one statement of 19 bound values; D1 allows 100 per statement). */
const COPY_BATCH = 100;
/** A reservation whose call has not settled after this long is released (its request died with its isolate). */
export const STALE_RESERVATION_MS = 15 * 60_000;
/** How often the alarm comes back while reservations are held or rows wait for D1 (also after a failed copy). */
const RETRY_EVERY_MS = 60_000;
/** Copied ledger rows are kept at least this long, and as long as the longest quota or budget period reads. */
const KEEP_ROWS_MS = 35 * 86_400_000;
/** How often copied rows past that are pruned. */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * One customer's gate: the single writer of that customer's limits, reservations and ledger rows,
 * everywhere in the network. Every keyed request reserves here before it is forwarded and commits its
 * ledger row here after the backend answers; the row is in this object's SQLite storage before the
 * commit call returns (the runtime holds the answer until the write is durable). An alarm copies rows to
 * D1 in batches, idempotently, for reports and billing.
 *
 * The limits engine is the same one Node runs in-process. Its state survives the object leaving memory:
 * period counters and credit spend come from this object's ledger, admitted calls and request-window
 * counts from its storage (GateStore), restored before the first request after a restart. Plans come
 * from D1 and are re-read at most a second after they change. Rows copied to D1 are pruned here once
 * older than the longest quota or budget period this customer's limits read (at least 35 days); a limit
 * that reads further back later gets the older part from D1.
 */
export class CustomerGate extends DurableObject<WorkerEnv> {
  private readonly ledger: LedgerStore;
  private readonly gate: GateStore;
  private readonly subjects: SubjectStore;
  private readonly engine: MemoryLimits;
  private readonly changes: ChangeWatch;
  private readonly admin: Db;
  private readonly log: ReturnType<typeof workerLog>;
  /** Calls that reserved here and have not committed: their reservation (null when the plan limits nothing). */
  private readonly held = new Map<string, { reservation: Reservation | null; at: number }>();
  private copying: Promise<number> | null = null;
  /** The newest admin change a caller told this object about (see DurableLimits). */
  private heardChange = 0;
  /** How long after a commit the rows are copied to D1 (TOLLGATE_LEDGER_COPY_DELAY_MS). */
  private readonly copyDelayMs: number;
  /** The longest lookback this customer's limits have read from the ledger (stored; decides pruning). */
  private lookbackMs: number;
  private lastPrune = 0;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    this.copyDelayMs = parseConfig(stringVars(env)).TOLLGATE_LEDGER_COPY_DELAY_MS;
    this.ledger = new LedgerStore(ctx.storage.sql);
    this.gate = new GateStore(ctx.storage.sql);
    this.lookbackMs = this.gate.lookbackMs();
    this.admin = drizzleD1(env.DB, { schema }) as unknown as Db;
    const local = drizzleDo(ctx.storage, { schema }) as unknown as Db;
    // Admin data is cached for at most a second: revocations and plan edits reach every object within it.
    this.changes = createChangeWatch(() => Math.floor(Date.now() / 1000));
    const totals = sqliteLedgerTotals(local, this.admin);
    this.subjects = new SubjectStore({
      ...totals,
      // Recent rows are here; rows pruned from here are read from D1 (history that no longer changes).
      usage: (subject, from, bucketMs) => totals.usage(subject, Math.max(from, this.gate.prunedBefore()), bucketMs),
      history: async (subject, from, bucketMs) => {
        // Read again if a prune moved the watermark meanwhile: the local read starts where this one ends.
        for (;;) {
          const prunedBefore = this.gate.prunedBefore();
          if (from >= prunedBefore) return [];
          const older = await sumSubjectUsageBetween(this.admin, subject, from, prunedBefore, bucketMs);
          if (this.gate.prunedBefore() === prunedBefore) return older;
        }
      },
      spent: () => this.ledger.spentMicros(),
    });
    this.changes.subscribe(() => this.subjects.staleGrants());
    this.log = workerLog(env);
    const alerts = new AlertRecorder(this.admin, this.log, () => {}, (run) => void ctx.waitUntil(Promise.resolve().then(run)));
    this.engine = new MemoryLimits(new PlanLimitsCache(this.admin, this.changes), this.subjects, () => Date.now(), alerts);
    void ctx.blockConcurrencyWhile(() => this.restore());
  }

  /** Reserves a call's possible cost, or says why not. */
  async reserve(caller: LimitCaller, request: ReserveRequest, changedAt = 0): Promise<GateReserveAnswer> {
    this.hear(changedAt);
    try {
      const { reservation, headers, tokenCap } = await this.engine.reserve(caller, request);
      if (request.callId) {
        const at = Date.now();
        this.held.set(request.callId, { reservation, at });
        if (reservation) {
          this.gate.admit(request.callId, at, caller, request, reservation.subjects);
          const lookback = lookbackOf(reservation.limits, at);
          if (lookback > this.lookbackMs) this.gate.setLookbackMs((this.lookbackMs = lookback));
          await this.ensureAlarm(RETRY_EVERY_MS);
        }
      }
      return { ok: true, headers, tokenCap };
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      return { ok: false, code: error.code, message: error.message, headers: error.headers.map(([n, v]) => [n, v]) };
    }
  }

  /**
   * Settles the call's reservation with the units in its ledger row, prices it, and writes the row.
   * Returns the call's cost. A repeated commit of the same call (a retried RPC) changes nothing.
   */
  async commit(row: NewUsageEvent): Promise<number> {
    this.hear(0);
    const billable = row.status < 400 || row.estimated === true;
    const units: Units = billable ? unitsOf(row) : NO_UNITS;
    const entry = this.held.get(row.id);
    let cost = 0;
    if (entry) {
      this.held.delete(row.id);
      cost = this.engine.settle(entry.reservation, units, billable);
      this.gate.settled(row.id, entry.reservation?.subjects ?? []);
    } else if (billable && !this.ledger.has(row.id)) {
      // No reservation here (the sweep released it, or it could not be restored): price and count it anyway.
      const caller: LimitCaller = { keyId: row.keyId, customerId: row.customerId, planId: null, limitOverrides: null };
      let limits: CompiledLimits | null = null;
      try {
        Object.assign(caller, await this.callerOf(row));
        limits = await this.engine.limitsOf(caller);
      } catch (error) {
        // D1 cannot say the plan or the counters' history: the row is still written and counted, unpriced.
        this.log('error', 'ledger row written unpriced: its plan could not be read', { id: row.id, error: String((error as Error)?.message ?? error) });
      }
      if (this.ledger.has(row.id)) return 0;
      cost = limits
        ? this.engine.settleUnreserved(limits, caller, row.model, units, billable, row.startedAt)
        : this.engine.countUnpriced(caller, units, row.startedAt);
      this.gate.settled(row.id, [this.subjects.get('key', caller.keyId), this.subjects.get('customer', caller.customerId)]);
    } else {
      this.gate.settled(row.id, []);
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
    while (this.copying) await this.copying.catch(() => 0);
    this.copying = this.copyAll();
    try {
      return await this.copying;
    } finally {
      this.copying = null;
    }
  }

  /** Rows in this object's ledger, how many D1 has, calls held (reports and tests). */
  async ledgerState(): Promise<{ rows: number; copied: number; held: number; spentMicros: number }> {
    const sql = this.ctx.storage.sql;
    const rows = sql.exec('SELECT count(*) AS n FROM usage_events').one().n as number;
    const copied = sql.exec('SELECT count(*) AS n FROM usage_events WHERE rowid <= ?', this.ledger.copied()).one().n as number;
    return { rows, copied, held: this.held.size, spentMicros: this.ledger.spentMicros() };
  }

  /** The columns of this object's usage_events table: name, type, not null, default, key (tests compare with D1). */
  async ledgerColumns(): Promise<Array<Record<string, unknown>>> {
    return this.ctx.storage.sql.exec("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('usage_events') ORDER BY name").toArray();
  }

  /**
   * Copies rows to D1 and releases reservations whose calls died. Comes back in a minute while anything
   * is held or waits for D1 — also after a failed copy, so the chain never breaks.
   */
  async alarm(): Promise<void> {
    let copyFailed = false;
    try {
      await this.copyNow();
    } catch (error) {
      copyFailed = true;
      this.log('error', 'ledger copy to D1 failed; retrying', { error: String((error as Error)?.message ?? error) });
    }
    const now = Date.now();
    for (const [id, entry] of this.held) {
      if (now - entry.at < STALE_RESERVATION_MS) continue;
      this.engine.settle(entry.reservation, NO_UNITS, false);
      this.gate.settled(id, []);
      this.held.delete(id);
    }
    // Calls admitted before a restart that could not be restored, and whose rows never came.
    let unrestored = 0;
    for (const call of this.gate.admitted()) {
      if (this.held.has(call.callId)) continue;
      if (now - call.at >= STALE_RESERVATION_MS) this.gate.settled(call.callId, []);
      else unrestored++;
    }
    this.gate.prune(now);
    if (!copyFailed && now - this.lastPrune >= PRUNE_EVERY_MS) {
      const before = now - Math.max(this.lookbackMs, KEEP_ROWS_MS);
      // The watermark goes first: a limit loading after this reads anything older from D1.
      this.gate.setPrunedBefore(before);
      // A large backlog is pruned over several alarms, one minute apart.
      if (this.ledger.prune(before)) this.lastPrune = now;
      else await this.ensureAlarm(RETRY_EVERY_MS);
    }
    if (copyFailed || this.held.size > 0 || unrestored > 0) await this.ctx.storage.setAlarm(now + RETRY_EVERY_MS);
  }

  /** After a restart: the window counters, then every admitted call's holds and slots, before any request. */
  private async restore(): Promise<void> {
    const now = Date.now();
    this.gate.restoreCounters(this.subjects, now);
    const admitted = this.gate.admitted();
    for (const call of admitted) {
      if (now - call.at >= STALE_RESERVATION_MS) {
        this.gate.settled(call.callId, []);
        continue;
      }
      try {
        const reservation = await this.engine.restore(call.caller, call.request, call.at);
        this.held.set(call.callId, { reservation, at: call.at });
      } catch (error) {
        // D1 cannot say the plan right now. The object still serves; this call settles unreserved.
        this.log('error', 'an admitted call was not restored', { id: call.callId, error: String((error as Error)?.message ?? error) });
      }
    }
    // The sweep looks at whatever was admitted, restored or not.
    if (admitted.length > 0) await this.ensureAlarm(RETRY_EVERY_MS);
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

  /** The plan a key has now, for a call whose reservation this object no longer holds. */
  private async callerOf(row: NewUsageEvent): Promise<LimitCaller> {
    const found = await findKeyById(this.admin, row.keyId);
    return { keyId: row.keyId, customerId: row.customerId, planId: found?.planId ?? null, limitOverrides: found?.key.limitOverrides ?? null };
  }
}

/** How far back the ledger must reach for these limits' quota and budget periods at `now`. */
function lookbackOf(limits: CompiledLimits, now: number): number {
  let oldest = now;
  const periods = limits.quotas.map((q) => q.period);
  if (limits.budget) periods.push(limits.budget.period);
  for (const p of periods) oldest = Math.min(oldest, p.kind === 'calendar' ? oldestLiveBucket(p, now) : oldestLiveBucket(p, now) - bucketSize(p)!);
  return now - oldest;
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
