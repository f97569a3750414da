import { judgeWindow, type Judgement } from '../../domain/billing/reconcile';
import { DAY_MS, dayStartOf, utcDay } from '../../domain/billing/time';
import { ServiceError } from '../../domain/errors';
import type { BillingDeps } from './billing-deps';
import { collectFacts } from './reconcile-facts';
import { listBillingMeters } from '../../db/repos/billing-meters.repo';
import { requireClient } from './sync.service';

/** One customer × meter × day of a reconciliation. */
export interface ReconcileLine extends Judgement {
  customerId: string;
  customerName: string;
  stripeCustomerId: string | null;
  meter: string;
  day: string;
  /** Calls the gateway served that day (all of them, failed ones too). */
  served: number;
  /** Billable units in the ledger. */
  ledger: number;
  /** What Stripe's meter event summaries hold; null for a customer without a Stripe id. */
  stripe: number | null;
}

/** A reconciliation: every non-empty line, and whether anything differs beyond what is still in flight. */
export interface ReconcileReport {
  from: string;
  to: string;
  ok: boolean;
  /** The meters compared (those set up); none means nothing is billed through Stripe yet. */
  meters: string[];
  lines: ReconcileLine[];
}

/** The days [from, to) to reconcile, aligned to UTC days (Stripe's daily summary windows). */
export function reconcileRange(from: number, to: number): { from: number; to: number } {
  const start = dayStartOf(from);
  const end = Math.ceil(to / DAY_MS) * DAY_MS;
  if (end <= start) throw new ServiceError('invalid_request', "'to' must be after 'from'.", 'to');
  if (end - start > 400 * DAY_MS) throw new ServiceError('invalid_request', 'Reconcile at most 400 days at a time.', 'from');
  return { from: start, to: end };
}

/**
 * Compares, per customer × meter × day: calls served, billable units in the ledger, and what Stripe holds;
 * each difference is explained (unsynced, parked, expired, never claimed, missing or extra at Stripe).
 * With no meters set up nothing is billed through Stripe, so there is nothing to compare.
 */
export async function reconcile(deps: BillingDeps, input: { from: number; to: number; customerId?: string }): Promise<ReconcileReport> {
  const range = reconcileRange(input.from, input.to);
  const meters = await listBillingMeters(deps.db);
  if (meters.length === 0) return { from: utcDay(range.from), to: utcDay(range.to), ok: true, meters: [], lines: [] };
  const client = requireClient(deps);
  const facts = await collectFacts(deps, client, meters, { ...range, windowMs: DAY_MS, customerId: input.customerId });
  const lines = facts
    .map((f): ReconcileLine => ({
      customerId: f.customer.id,
      customerName: f.customer.name,
      stripeCustomerId: f.customer.stripeCustomerId,
      meter: f.meter,
      day: utcDay(f.windowStart),
      served: f.served,
      ledger: f.ledger,
      stripe: f.stripe,
      ...judgeWindow(f),
    }))
    .filter((l) => l.served || l.ledger || l.stripe || l.status !== 'ok');
  return { from: utcDay(range.from), to: utcDay(range.to), ok: lines.every((l) => l.status !== 'drift'), meters: meters.map((m) => m.meter), lines };
}
