import type { Config } from '../../config';
import type { Deps } from '../../context';
import { listCustomers } from '../../db/repos/customers.repo';
import { DAY_MS } from '../../domain/billing/time';
import { deliverDueWebhooks, type WebhookPost } from '../../services/alerts/webhook-delivery.service';
import { reconcile } from '../../services/billing/reconcile.service';
import { runSync } from '../../services/billing/sync.service';
import type { WorkerEnv } from './env';

/** The daily cron in wrangler.toml: copy catch-up, then reconciliation of the previous UTC day. */
export const DAILY_CRON = '17 3 * * *';

/** What one scheduled run did (logged, and returned for tests). */
export interface JobsReport {
  copied?: { customers: number; rows: number; failed: number };
  webhooks?: number;
  billing?: { claimedRows: number; delivered: number; parked: number } | { error: string };
  reconcile?: { ok: boolean; lines: number; drift: number } | { error: string };
}

/**
 * The scheduled jobs, with the same job code as Node's timers and CLI. Every minute: due alert webhooks
 * and (with Stripe configured) the billing sync. Daily: every customer's object copies what D1 lacks
 * (alarms normally did it within seconds; this catches any that kept failing), then yesterday is
 * reconciled against Stripe and any drift is logged.
 */
export async function runScheduledJobs(cron: string, deps: Deps, env: WorkerEnv, config: Config): Promise<JobsReport> {
  const report: JobsReport = {};
  if (cron === DAILY_CRON) {
    report.copied = await copyCatchUp(deps, env);
    report.reconcile = await reconcileYesterday(deps);
  } else {
    report.webhooks = await deliverDueWebhooks(
      { db: deps.db, now: deps.now, post: fetchPost, log: deps.log },
      { retryBaseMs: config.TOLLGATE_WEBHOOK_RETRY_BASE_MS, maxAttempts: config.TOLLGATE_WEBHOOK_MAX_ATTEMPTS, timeoutMs: config.TOLLGATE_WEBHOOK_TIMEOUT_MS },
    );
    report.billing = await billingSync(deps);
  }
  deps.log('info', 'scheduled jobs', { cron, ...report });
  return report;
}

/** Asks every customer's object to copy its uncopied ledger rows to D1, eight at a time. */
export async function copyCatchUp(deps: Deps, env: WorkerEnv): Promise<NonNullable<JobsReport['copied']>> {
  const customers = await listCustomers(deps.db);
  const result = { customers: customers.length, rows: 0, failed: 0 };
  for (let i = 0; i < customers.length; i += 8) {
    const slice = customers.slice(i, i + 8);
    const outcomes = await Promise.allSettled(slice.map((c) => env.CUSTOMERS.get(env.CUSTOMERS.idFromName(c.id)).copyNow()));
    for (const [j, o] of outcomes.entries()) {
      if (o.status === 'fulfilled') result.rows += o.value;
      else {
        result.failed++;
        deps.log('error', 'ledger copy catch-up failed', { customerId: slice[j].id, error: String(o.reason) });
      }
    }
  }
  return result;
}

async function billingSync(deps: Deps): Promise<JobsReport['billing']> {
  const billing = deps.billing?.deps;
  if (!billing?.client) return undefined;
  try {
    const r = await runSync(billing, { holdOpen: true, sliceRows: 500, batchRows: 200 });
    return { claimedRows: r.claimed.rows, delivered: r.sent.delivered, parked: r.sent.parked };
  } catch (error) {
    deps.log('error', 'billing sync failed', { error: String((error as Error)?.message ?? error) });
    return { error: String((error as Error)?.message ?? error) };
  }
}

async function reconcileYesterday(deps: Deps): Promise<JobsReport['reconcile']> {
  const billing = deps.billing?.deps;
  if (!billing?.client) return undefined;
  const today = Math.floor(deps.now() / DAY_MS) * DAY_MS;
  try {
    const r = await reconcile(billing, { from: today - DAY_MS, to: today });
    const drift = r.lines.filter((l) => l.status === 'drift');
    for (const line of drift) deps.log('error', 'billing drift', { ...line });
    return { ok: r.ok, lines: r.lines.length, drift: drift.length };
  } catch (error) {
    return { error: String((error as Error)?.message ?? error) };
  }
}

const fetchPost: WebhookPost = async (url, body, headers, timeoutMs) => {
  const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  return { status: res.status };
};
