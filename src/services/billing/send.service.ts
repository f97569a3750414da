import { countSendable, takeSendable, updatePending, type SendableRow } from '../../db/repos/billing-outbox.repo';
import type { BillingMeterRow } from '../../db/schema';
import type { BillingMeter } from '../../domain/billing/meters';
import { backoffDelay } from '../../domain/billing/stripe-failure';
import { earliestEventAt, SAFE_RESEND_WINDOW_MS } from '../../domain/billing/time';
import type { BillingClient, MeterEventInput } from './billing-client';
import type { BillingDeps } from './billing-deps';
import { callWithRetry, type CallOutcome, type CallStats } from './send-call';
import { chunks, partitionLanes } from './lanes';

/** What a send pass did. `calls` counts HTTP calls (retries included). */
export interface SendReport extends CallStats {
  channel: 'v1' | 'stream' | null;
  /** True when the pass stopped because Stripe kept failing. */
  outage: boolean;
  batches: number;
  delivered: number;
  duplicates: number;
  parked: number;
  deferred: number;
}

/** Options of a send pass. `holdOpen` keeps buckets that are still filling (and 2 minutes after) for later. */
export interface SendOptions {
  holdOpen?: boolean;
  batchRows?: number;
  shouldStop?: () => boolean;
  pause?: () => Promise<void>;
}

/** Late ledger commits (calls that started in a bucket and finished after it) get this long to land. */
export const BUCKET_SETTLE_MS = 120_000;
const STREAM_BATCH = 100;

/**
 * Sends every sendable outbox row: takes a batch (marking it attempted before any call), splits it into
 * lanes so one customer × meter never has two calls in flight, sends with v1 meter events or — when the
 * backlog is large — the v2 meter event stream, and records each row's fate. Stops when nothing is left.
 */
export async function sendOutbox(deps: BillingDeps, client: BillingClient, meters: BillingMeterRow[], options: SendOptions = {}): Promise<SendReport> {
  const report: SendReport = { channel: null, outage: false, batches: 0, calls: 0, retries: 0, delivered: 0, duplicates: 0, parked: 0, deferred: 0 };
  const eventNames = new Map(meters.map((m) => [m.meter, m.eventName]));
  // After a call exhausts its retries Stripe is taken to be down: the pass stops, the rest stays queued.
  let outage = false;
  const stop = () => outage || (options.shouldStop?.() ?? false);
  const query = (now: number) => ({
    now,
    earliest: earliestEventAt(now),
    safeSince: now - SAFE_RESEND_WINDOW_MS,
    bucketsEndingBy: options.holdOpen ? now - BUCKET_SETTLE_MS : Number.MAX_SAFE_INTEGER,
    meters: meters.map((m) => m.meter as BillingMeter),
  });
  // The backlog, not the batch, decides: small batches of a large backlog still go through the stream.
  const channel = (await countSendable(deps.db, query(deps.now()))) >= deps.settings.streamMin ? 'stream' : 'v1';
  while (!stop()) {
    const rows = await takeSendable(deps.db, { ...query(deps.now()), limit: options.batchRows ?? 5_000 });
    if (rows.length === 0) break;
    report.channel = channel;
    report.batches++;
    const event = (r: SendableRow): MeterEventInput => ({ eventName: eventNames.get(r.meter)!, identifier: r.identifier, stripeCustomerId: r.stripeCustomerId, value: r.value, timestamp: r.eventAt! });
    const outcomes = new Map<SendableRow, CallOutcome>();
    const settle = (row: SendableRow, outcome: CallOutcome) => {
      outcomes.set(row, outcome);
      if (outcome.kind === 'defer') outage = true;
    };
    const viaV1 = async (row: SendableRow) => settle(row, await callWithRetry(deps, report, () => client.sendMeterEvent(event(row)), stop));
    await Promise.all(
      // Stream calls carry up to 100 events: no more parallel groups than it takes to fill them.
      partitionLanes(rows, channel === 'v1' ? deps.settings.concurrency : Math.min(deps.settings.concurrency, Math.ceil(rows.length / STREAM_BATCH))).map(async (group) => {
        if (channel === 'v1') {
          for (const row of group) if (!stop()) await viaV1(row);
          return;
        }
        for (const chunk of chunks(group, STREAM_BATCH)) {
          if (stop()) return;
          const outcome = await callWithRetry(deps, report, () => client.sendMeterEventStream(chunk.map(event)), stop);
          // A stream batch refused as a whole says nothing about which event is wrong: ask v1, one by one.
          if (outcome.kind === 'park') for (const row of chunk) await viaV1(row);
          else for (const row of chunk) settle(row, outcome);
        }
      }),
    );
    await record(deps, outcomes, channel, report);
    await options.pause?.();
  }
  report.outage = outage;
  return report;
}

/** Writes what happened to each row of a batch. Rows not in `outcomes` (stopped early) stay queued as they are. */
async function record(deps: BillingDeps, outcomes: Map<SendableRow, CallOutcome>, channel: 'v1' | 'stream', report: SendReport): Promise<void> {
  const now = deps.now();
  const delivered: string[] = [];
  for (const [row, outcome] of outcomes) {
    if (outcome.kind === 'delivered') {
      delivered.push(row.identifier);
      report.delivered++;
      if (outcome.duplicate) report.duplicates++;
    } else if (outcome.kind === 'park') {
      report.parked++;
      deps.log('error', 'billing row parked', { identifier: row.identifier, reason: outcome.reason });
      await updatePending(deps.db, [row.identifier], { status: 'parked', lastError: outcome.reason, updatedAt: now });
    } else {
      report.deferred++;
      const nextAttemptAt = now + backoffDelay(row.attempts, deps.settings.retryBaseMs * 4, 10 * 60_000);
      await updatePending(deps.db, [row.identifier], { nextAttemptAt, lastError: outcome.reason, updatedAt: now });
    }
  }
  await updatePending(deps.db, delivered, { status: 'delivered', deliveredAt: now, channel, lastError: null, nextAttemptAt: null, updatedAt: now });
}
