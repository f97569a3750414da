import { listBillingMeters } from '../../db/repos/billing-meters.repo';
import { expireUnsendable, outboxStatusCounts } from '../../db/repos/billing-outbox.repo';
import type { BillingMeterRow } from '../../db/schema';
import type { BillingMeter } from '../../domain/billing/meters';
import { ServiceError } from '../../domain/errors';
import { earliestEventAt } from '../../domain/billing/time';
import type { BillingClient } from './billing-client';
import type { BillingDeps } from './billing-deps';
import { claimUsage, type ClaimReport } from './claim.service';
import { applyPaymentGrace } from './payment-grace.service';
import { sendOutbox, type SendOptions, type SendReport } from './send.service';
import { verifyUncertain, type VerifyReport } from './verify.service';

/** What a sync run did, and what is left. */
export interface SyncReport {
  claimed: ClaimReport;
  expired: Array<{ identifier: string; customerId: string; meter: string; bucketStart: number; value: number }>;
  verified: VerifyReport;
  sent: SendReport;
  suspended: string[];
  outbox: Array<{ status: string; rows: number; value: number }>;
}

/** Options of a run; the server's job passes small batches, a pause between them and its stop flag. */
export interface SyncOptions extends SendOptions {
  sliceRows?: number;
}

/** The Stripe client, or `billing_not_configured`. */
export function requireClient(deps: BillingDeps): BillingClient {
  if (!deps.client) throw new ServiceError('billing_not_configured', 'Stripe is not configured: set STRIPE_SECRET_KEY (and STRIPE_API_URL for a Stripe-compatible server).');
  return deps.client;
}

/** The meters set up by `tollgate billing setup`, or `billing_not_set_up`. */
export async function requireMeters(deps: BillingDeps): Promise<BillingMeterRow[]> {
  const meters = await listBillingMeters(deps.db);
  if (meters.length === 0) throw new ServiceError('billing_not_set_up', "No billing meters are set up: run 'tollgate billing setup' first (usage stays in the ledger meanwhile).");
  return meters;
}

/**
 * One sync run: claim new ledger rows into the outbox, expire what is past Stripe's 35 days (reported,
 * never dropped silently), verify rows beyond the dedup window against summaries, send the rest, and
 * apply the payment grace period. Safe to kill at any point and to run concurrently with another run.
 */
export async function runSync(deps: BillingDeps, options: SyncOptions = {}): Promise<SyncReport> {
  // The grace period needs no Stripe call, so it is applied even when the rest cannot run.
  const suspended = await applyPaymentGrace(deps);
  const client = requireClient(deps);
  const meters = await requireMeters(deps);
  const stop = options.shouldStop ?? (() => false);
  const claimed = await claimUsage(deps, meters.map((m) => m.meter as BillingMeter), { sliceRows: options.sliceRows, pause: options.pause, shouldStop: stop });
  const expired = await expireUnsendable(deps.db, earliestEventAt(deps.now()), deps.now());
  if (expired.length) deps.log('error', 'billing usage expired before it reached Stripe', { rows: expired.length, value: expired.reduce((n, r) => n + r.value, 0) });
  const verified = await verifyUncertain(deps, client, meters);
  const sent = await sendOutbox(deps, client, meters, { ...options, shouldStop: stop });
  return {
    claimed,
    expired: expired.map((r) => ({ identifier: r.identifier, customerId: r.customerId, meter: r.meter, bucketStart: r.bucketStart, value: r.value })),
    verified,
    sent,
    suspended,
    outbox: await outboxStatusCounts(deps.db),
  };
}
