import { runAtomic } from '../../db/atomic';
import { insertNextSeqStatement } from '../../db/repos/billing-claim.repo';
import { bucketRows, markCanceledStatement } from '../../db/repos/billing-outbox.repo';
import type { BillingMeterRow } from '../../db/schema';
import { judgeWindow } from '../../domain/billing/reconcile';
import { subsetWithSum } from '../../domain/billing/subset';
import { bucketMs, DAY_MS, earliestEventAt, SAFE_RESEND_WINDOW_MS } from '../../domain/billing/time';
import { sql } from 'drizzle-orm';
import { BillingApiError, type BillingClient } from './billing-client';
import type { BillingDeps } from './billing-deps';
import { collectFacts } from './reconcile-facts';
import type { ReconcileReport } from './reconcile.service';
import { insertAuditStatement } from '../../db/repos/audit.repo';
import type { AdminDeps } from '../admin';
import { auditRow, SYSTEM_AUDIT, type AuditContext } from '../audit.service';

/** One repair action, for the report. */
export interface RepairAction {
  customerId: string;
  meter: string;
  bucketStart: string;
  action: 'sent' | 'canceled' | 'cannot_adjust' | 'skipped_in_flight' | 'too_old';
  value: number;
  detail: string;
}

/**
 * Repairs the drifting days of a reconciliation, bucket by bucket: what Stripe lacks (delivered but not
 * counted, or never claimed) becomes a repair row with a new identifier, sent by the sync; what Stripe
 * holds twice is canceled where an adjustment is still possible — repair events Stripe received within 24 h
 * whose values add up to exactly the extra. Buckets with sends still awaiting confirmation are left alone.
 */
export async function repairDrift(
  deps: BillingDeps,
  client: BillingClient,
  meters: BillingMeterRow[],
  report: ReconcileReport,
  audit: AuditContext = SYSTEM_AUDIT,
): Promise<RepairAction[]> {
  const actions: RepairAction[] = [];
  const size = bucketMs(deps.settings.bucket);
  const eventName = new Map(meters.map((m) => [m.meter, m.eventName]));
  const days = new Set(report.lines.filter((l) => l.status === 'drift' && (l.missingAtStripe || l.extraAtStripe || l.notClaimed)).map((l) => `${l.customerId}|${l.day}`));
  for (const key of days) {
    const [customerId, day] = key.split('|');
    const from = Date.parse(`${day}T00:00:00Z`);
    const facts = await collectFacts(deps, client, meters, { from, to: from + DAY_MS, windowMs: size, customerId });
    for (const f of facts) {
      const j = judgeWindow(f);
      const base = { customerId, meter: f.meter, bucketStart: new Date(f.windowStart).toISOString() };
      if ((j.missingAtStripe || j.notClaimed || j.extraAtStripe) && f.usage.pendingAttempted + f.repair.pendingAttempted > 0) {
        actions.push({ ...base, action: 'skipped_in_flight', value: 0, detail: 'sends of this bucket await confirmation; run sync, then reconcile again' });
        continue;
      }
      const missing = j.missingAtStripe + j.notClaimed;
      if (missing > 0 && f.windowStart + size <= earliestEventAt(deps.now())) {
        actions.push({ ...base, action: 'too_old', value: missing, detail: "past Stripe's 35-day window: can no longer be sent; bill it another way" });
      } else if (missing > 0) {
        const amount = { customerId, meter: f.meter, bucketStart: f.windowStart, bucketEnd: f.windowStart + size, value: missing };
        // The repair row and its audit row commit together: a repair bills a customer anew.
        const entry = auditRow(deps as unknown as AdminDeps, audit, 'billing.repair.send', { type: 'customer', id: customerId }, {
          before: null,
          after: { meter: f.meter, bucketStart: base.bucketStart, value: missing },
        });
        await runAtomic(deps.db, [insertNextSeqStatement(deps.db, amount, 'repair', deps.now(), sql`1 = 1`), insertAuditStatement(deps.db, entry)]);
        actions.push({ ...base, action: 'sent', value: missing, detail: 'queued as a repair event with a new identifier' });
      }
      if (j.extraAtStripe > 0) actions.push(...(await cancelExtra(deps, client, eventName.get(f.meter)!, base, f.windowStart, j.extraAtStripe, audit)));
    }
  }
  return actions;
}

async function cancelExtra(
  deps: BillingDeps,
  client: BillingClient,
  eventName: string,
  base: Omit<RepairAction, 'action' | 'value' | 'detail'>,
  bucketStart: number,
  extra: number,
  audit: AuditContext,
): Promise<RepairAction[]> {
  const recent = deps.now() - SAFE_RESEND_WINDOW_MS;
  const rows = (await bucketRows(deps.db, base.customerId, base.meter as never, bucketStart)).filter(
    (r) => r.kind === 'repair' && r.status === 'delivered' && (r.deliveredAt ?? 0) > recent,
  );
  const picked = subsetWithSum(rows.map((r) => r.value), extra);
  if (!picked) {
    return [{ ...base, action: 'cannot_adjust', value: extra, detail: 'no repair events received within 24 h add up to the extra; credit the customer at Stripe' }];
  }
  const out: RepairAction[] = [];
  for (const row of picked.map((i) => rows[i])) {
    try {
      await client.cancelMeterEvent(eventName, row.identifier);
      const entry = auditRow(deps as unknown as AdminDeps, audit, 'billing.repair.cancel', { type: 'billing_outbox', id: row.identifier }, {
        before: { status: 'delivered', value: row.value },
        after: { status: 'canceled' },
      });
      await runAtomic(deps.db, [markCanceledStatement(deps.db, row.identifier, 'canceled by reconcile --repair: Stripe held it twice', deps.now()), insertAuditStatement(deps.db, entry)]);
      out.push({ ...base, action: 'canceled', value: row.value, detail: `canceled ${row.identifier}` });
    } catch (error) {
      if (!(error instanceof BillingApiError)) throw error;
      out.push({ ...base, action: 'cannot_adjust', value: row.value, detail: `Stripe refused to cancel ${row.identifier}: ${error.message}` });
    }
  }
  return out;
}
