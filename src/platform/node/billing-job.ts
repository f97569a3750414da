import type { BillingDeps } from '../../services/billing/billing-deps';
import { runSync, type SyncReport } from '../../services/billing/sync.service';
import { ServiceError } from '../../domain/errors';

/** The server's periodic Stripe sync. */
export interface BillingSyncJob {
  /** Runs one sync now (waits for a run in progress first); resolves with its report. */
  runNow(): Promise<SyncReport | null>;
  /** Stops scheduling, cuts backoff waits short, and waits for the run in progress (at most `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Yields to the event loop so requests are served between the job's small batches. */
const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs the billing sync every `intervalMs` in the server process, in small batches (500 ledger rows per
 * claim commit, 200 outbox rows per send batch) with a yield between batches, so the request path never
 * waits behind it. Open buckets are held back until they close. Errors are logged, never thrown.
 */
export function startBillingSyncJob(base: BillingDeps, intervalMs: number): BillingSyncJob {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<SyncReport | null> | null = null;
  const wakers = new Set<() => void>();
  let lastError = '';
  const deps: BillingDeps = {
    ...base,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          wakers.delete(done);
          resolve();
        };
        const t = setTimeout(done, ms);
        wakers.add(done);
      }),
  };
  const run = async (): Promise<SyncReport | null> => {
    try {
      const report = await runSync(deps, { holdOpen: true, sliceRows: 500, batchRows: 200, pause: yieldToRequests, shouldStop: () => stopped });
      lastError = '';
      if (report.sent.delivered || report.sent.parked || report.expired.length) {
        deps.log('info', 'billing sync', { claimedRows: report.claimed.rows, delivered: report.sent.delivered, parked: report.sent.parked, expired: report.expired.length });
      }
      return report;
    } catch (error) {
      const message = error instanceof ServiceError ? error.message : String((error as Error)?.stack ?? error);
      if (message !== lastError) deps.log('error', 'billing sync failed', { error: message });
      lastError = message;
      return null;
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runNow().finally(schedule), intervalMs);
    timer.unref();
  };
  const runNow = async () => {
    while (running) await running;
    running = run();
    try {
      return await running;
    } finally {
      running = null;
    }
  };
  schedule();
  return {
    runNow,
    async stop(graceMs = 10_000) {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const wake of [...wakers]) wake();
      if (running) await Promise.race([running, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    },
  };
}
