import { readClaimCursor } from '../../db/repos/billing-claim.repo';
import { listBillingMeters } from '../../db/repos/billing-meters.repo';
import { listParkedRows, outboxStatusCounts, unparkRows } from '../../db/repos/billing-outbox.repo';
import type { BillingMeterRow } from '../../db/schema';
import type { BillingDeps } from './billing-deps';

/** A parked outbox row as the CLI and admin API show it. */
export interface ParkedRow {
  identifier: string;
  customerId: string;
  meter: string;
  bucketStart: string;
  value: number;
  attempts: number;
  reason: string | null;
  parkedAt: string;
}

/** Rows Stripe refused for good (unknown customer, invalid value, …), with the reason; the rest keeps flowing. */
export async function listParked(deps: BillingDeps, customerId?: string): Promise<ParkedRow[]> {
  return (await listParkedRows(deps.db, customerId)).map((r) => ({
    identifier: r.identifier,
    customerId: r.customerId,
    meter: r.meter,
    bucketStart: new Date(r.bucketStart).toISOString(),
    value: r.value,
    attempts: r.attempts,
    reason: r.lastError,
    parkedAt: new Date(r.updatedAt).toISOString(),
  }));
}

/** Queues parked rows again (after fixing the cause, e.g. relinking the customer); same identifiers. */
export async function retryParked(deps: BillingDeps, filter: { customerId?: string; identifier?: string }): Promise<number> {
  return unparkRows(deps.db, filter, deps.now());
}

/** Billing at a glance: meters set up, the claim cursor, and the outbox by status. */
export async function billingStatus(deps: BillingDeps): Promise<{ meters: BillingMeterRow[]; claimCursor: number; outbox: Array<{ status: string; rows: number; value: number }> }> {
  return {
    meters: await listBillingMeters(deps.db),
    claimCursor: await readClaimCursor(deps.db),
    outbox: await outboxStatusCounts(deps.db),
  };
}
