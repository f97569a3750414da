import type { NewUsageEvent } from '../db/schema';
import type { RouteName, Units } from '../backends/types';

/**
 * Where ledger rows go. `record` resolves only once the row is durably committed; callers hold the
 * response's last bytes until then. Node: group commit into SQLite. Workers: the customer's object.
 */
export interface LedgerSink {
  record(row: NewUsageEvent): Promise<void>;
  /** Commits anything queued; used when draining. */
  flush(): Promise<void>;
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
}

/** Writes the call's one ledger row (no-op if already written) and waits for its commit. */
export async function recordCall(
  ledger: LedgerSink,
  call: CallRecord,
  outcome: { status: number; units: Units; errorCode?: string | null; finishedAt: number; costMicros?: number },
): Promise<void> {
  if (call.recorded) return;
  call.recorded = true;
  const billable = outcome.status < 400 || outcome.units.estimated;
  const u = outcome.units;
  await ledger.record({
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
    costMicros: billable ? (outcome.costMicros ?? 0) : 0,
    errorCode: outcome.errorCode ?? null,
    usageRaw: u.raw,
    startedAt: call.startedAt,
    finishedAt: outcome.finishedAt,
  });
}
