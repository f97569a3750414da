import { readClaimCursor } from '../../db/repos/billing-claim.repo';
import { listBillingMeters } from '../../db/repos/billing-meters.repo';
import { listParkedRows, outboxStatusCounts, parkedIdentifiers, unparkStatement } from '../../db/repos/billing-outbox.repo';
import type { BillingMeterRow } from '../../db/schema';
import { runAtomic } from '../../db/atomic';
import { insertAuditStatement } from '../../db/repos/audit.repo';
import type { AdminDeps } from '../admin';
import { auditRow, SYSTEM_AUDIT, type AuditContext } from '../audit.service';
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

/**
 * Queues parked rows again (after fixing the cause, e.g. relinking the customer); same identifiers. The
 * audit row naming them commits with the change.
 */
export async function retryParked(deps: BillingDeps, filter: { customerId?: string; identifier?: string }, audit: AuditContext = SYSTEM_AUDIT): Promise<number> {
  const identifiers = await parkedIdentifiers(deps.db, filter);
  if (identifiers.length === 0) return 0;
  const entry = auditRow(deps as unknown as AdminDeps, audit, 'billing.parked.retry', { type: 'billing_outbox', id: filter.identifier ?? filter.customerId ?? '*' }, {
    before: { status: 'parked', identifiers },
    after: { status: 'pending', identifiers },
  });
  await runAtomic(deps.db, [unparkStatement(deps.db, identifiers, deps.now()), insertAuditStatement(deps.db, entry)]);
  return identifiers.length;
}

/** Billing at a glance: meters set up, the claim cursor, and the outbox by status. */
export async function billingStatus(deps: BillingDeps): Promise<{ meters: BillingMeterRow[]; claimCursor: number; outbox: Array<{ status: string; rows: number; value: number }> }> {
  return {
    meters: await listBillingMeters(deps.db),
    claimCursor: await readClaimCursor(deps.db),
    outbox: await outboxStatusCounts(deps.db),
  };
}
