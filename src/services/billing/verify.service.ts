import { bucketRows, takeUncertain, updatePending, type SendableRow } from '../../db/repos/billing-outbox.repo';
import type { BillingMeterRow } from '../../db/schema';
import type { BillingMeter } from '../../domain/billing/meters';
import { classifyStripeFailure, failureReason } from '../../domain/billing/stripe-failure';
import { subsetWithSum } from '../../domain/billing/subset';
import { earliestEventAt, SAFE_RESEND_WINDOW_MS } from '../../domain/billing/time';
import { BillingApiError, type BillingClient } from './billing-client';
import type { BillingDeps } from './billing-deps';
import { FatalBillingError } from './send-call';

/** What verification decided. */
export interface VerifyReport {
  buckets: number;
  confirmed: number;
  rearmed: number;
  expired: number;
  parked: number;
  skipped: number;
}

/**
 * Rows that may have reached Stripe but can no longer be resent blindly (first attempted more than 23 h
 * ago, beyond Stripe's identifier dedup window, or now too old to resend) are checked against the meter
 * event summary of their bucket: Stripe's total minus the bucket's delivered rows must be exactly the sum
 * of some of its uncertain rows. Those are delivered; the others are re-armed (a fresh dedup window) or,
 * when no longer sendable, expired. A total no subset explains parks the rows for reconcile.
 */
export async function verifyUncertain(deps: BillingDeps, client: BillingClient, meters: BillingMeterRow[]): Promise<VerifyReport> {
  const report: VerifyReport = { buckets: 0, confirmed: 0, rearmed: 0, expired: 0, parked: 0, skipped: 0 };
  const now = deps.now();
  const earliest = earliestEventAt(now);
  const meterIds = new Map(meters.map((m) => [m.meter, m.stripeMeterId]));
  const uncertain = await takeUncertain(deps.db, now - SAFE_RESEND_WINDOW_MS, earliest, meters.map((m) => m.meter as BillingMeter));
  const groups = new Map<string, SendableRow[]>();
  for (const row of uncertain) {
    const key = `${row.customerId}|${row.meter}|${row.bucketStart}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  for (const [first] of groups.values()) {
    report.buckets++;
    let atStripe: number;
    try {
      const summaries = await client.eventSummaries({ meterId: meterIds.get(first.meter)!, stripeCustomerId: first.stripeCustomerId, start: first.bucketStart, end: first.bucketEnd });
      atStripe = summaries.reduce((n, s) => n + s.value, 0);
    } catch (error) {
      if (!(error instanceof BillingApiError)) throw error;
      if (classifyStripeFailure(error.info) === 'fatal') throw new FatalBillingError(failureReason(error.info));
      report.skipped++;
      continue;
    }
    const rows = await bucketRows(deps.db, first.customerId, first.meter as BillingMeter, first.bucketStart);
    const delivered = rows.filter((r) => r.status === 'delivered').reduce((n, r) => n + r.value, 0);
    const candidates = rows.filter((r) => r.status === 'pending' && r.firstAttemptAt !== null);
    const found = subsetWithSum(candidates.map((r) => r.value), atStripe - delivered);
    const ids = (rs: typeof rows) => rs.map((r) => r.identifier);
    if (found === null) {
      const reason = `Stripe holds ${atStripe} for this bucket, delivered rows sum to ${delivered}, and no set of the uncertain rows (${candidates.map((r) => r.value).join(', ')}) explains the difference; run reconcile`;
      await updatePending(deps.db, ids(candidates), { status: 'parked', lastError: reason, updatedAt: now });
      report.parked += candidates.length;
      continue;
    }
    const atStripeRows = found.map((i) => candidates[i]);
    const missing = candidates.filter((r) => !atStripeRows.includes(r));
    const sendable = missing.filter((r) => r.bucketEnd > earliest);
    const tooOld = missing.filter((r) => r.bucketEnd <= earliest);
    await updatePending(deps.db, ids(atStripeRows), { status: 'delivered', deliveredAt: now, lastError: 'confirmed by meter event summary', updatedAt: now });
    await updatePending(deps.db, ids(sendable), { firstAttemptAt: now, eventAt: null, nextAttemptAt: null, lastError: 'not at Stripe (meter event summary); resending', updatedAt: now });
    await updatePending(deps.db, ids(tooOld), { status: 'expired', lastError: "not at Stripe and past Stripe's 35-day window", updatedAt: now });
    report.confirmed += atStripeRows.length;
    report.rearmed += sendable.length;
    report.expired += tooOld.length;
  }
  return report;
}
