import type { NewUsageEvent } from '../db/schema';
import type { RouteName, Units } from '../backends/types';
import type { LimitsEngine, Reservation } from './limits/types';

/**
 * Where ledger rows go. `record` resolves only once the row is durably committed; callers hold the
 * response's last bytes until then. Node: group commit into SQLite. Workers: the customer's object.
 */
export interface LedgerSink {
  record(row: NewUsageEvent): Promise<void>;
  /** Commits anything queued; used when draining. */
  flush(): Promise<void>;
  /**
   * Resolves once every committed row of `customerId` (of every customer when omitted) can be read from
   * `deps.db`, where reports and billing read. Node: at once, the ledger is that database. Workers: after
   * the customers' objects copied their rows to D1.
   */
  caughtUp(customerId?: string): Promise<void>;
}

/** One keyed call on a metered route, from auth until its ledger row is written. */
export interface CallRecord {
  id: string;
  keyId: string;
  customerId: string;
  route: RouteName;
  startedAt: number;
  model: string;
  backendId: string | null;
  stream: boolean;
  /** Set once the ledger row is written, so no path can write a call twice. */
  recorded: boolean;
  /** What the limits engine holds for this call until it settles; null when the plan limits nothing. */
  reservation: Reservation | null;
  /** Rate-limit response fields computed at reservation time, sent on every answer. */
  limitHeaders: ReadonlyArray<readonly [string, string]> | null;
  /** The completion cap the reservation assumed for a call that names none (null: no cap needed). */
  tokenCap: number | null;
  /** Told once the row is committed (or its commit failed), where the runtime must be kept alive until then. */
  onRecorded?: () => void;
}

/**
 * Settles the call's reservation and writes its one ledger row (no-op if already written), then waits for
 * the commit. Settling and queueing the row happen in one synchronous step, so the limits engine's
 * counters and the ledger never disagree about a settled call.
 */
export async function recordCall(
  deps: { ledger: LedgerSink; limiter: LimitsEngine },
  call: CallRecord,
  outcome: { status: number; units: Units; errorCode?: string | null; finishedAt: number },
): Promise<void> {
  if (call.recorded) return;
  call.recorded = true;
  const billable = outcome.status < 400 || outcome.units.estimated;
  const u = outcome.units;
  const costMicros = deps.limiter.settle(call.reservation, u, billable);
  try {
    await deps.ledger.record({
      id: call.id,
      keyId: call.keyId,
      customerId: call.customerId,
      model: call.model,
      backendId: call.backendId,
      route: call.route,
      status: outcome.status,
      stream: call.stream,
      promptTokens: billable ? u.promptTokens : 0,
      completionTokens: billable ? u.completionTokens : 0,
      cachedTokens: billable ? u.cachedTokens : 0,
      reasoningTokens: billable ? u.reasoningTokens : 0,
      predictions: billable ? u.predictions : 0,
      estimated: u.estimated,
      costMicros,
      errorCode: outcome.errorCode ?? null,
      usageRaw: u.raw,
      startedAt: call.startedAt,
      finishedAt: outcome.finishedAt,
    });
  } finally {
    call.onRecorded?.();
  }
}
