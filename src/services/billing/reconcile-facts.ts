import { readClaimCursor } from '../../db/repos/billing-claim.repo';
import { customersByIds } from '../../db/repos/billing-customers.repo';
import { ledgerWindows, outboxWindows, type LedgerWindow } from '../../db/repos/billing-ledger.repo';
import { listCustomers } from '../../db/repos/customers.repo';
import type { BillingMeterRow, CustomerRow } from '../../db/schema';
import type { BillingMeter } from '../../domain/billing/meters';
import { NO_OUTBOX, type OutboxState, type WindowFacts } from '../../domain/billing/reconcile';
import { DAY_MS } from '../../domain/billing/time';
import { ServiceError } from '../../domain/errors';
import { BillingApiError, type BillingClient } from './billing-client';
import type { BillingDeps } from './billing-deps';

/** Facts of one customer × meter × window, with who the customer is. */
export interface KeyedFacts extends WindowFacts {
  customer: CustomerRow;
  meter: BillingMeter;
  windowStart: number;
}

const LEDGER_FIELD: Record<BillingMeter, [keyof LedgerWindow, keyof LedgerWindow]> = {
  requests: ['requests', 'unclaimedRequests'],
  input_tokens: ['inputTokens', 'unclaimedInputTokens'],
  output_tokens: ['outputTokens', 'unclaimedOutputTokens'],
  predictions: ['predictions', 'unclaimedPredictions'],
};

function addState(state: OutboxState, status: string, value: number, attempted: number, recent: number): OutboxState {
  const next = { ...state };
  if (status === 'delivered') next.deliveredRecently += recent;
  if (status === 'pending') {
    next.pending += value;
    next.pendingAttempted += attempted;
  } else if (status in next) next[status as keyof OutboxState] += value;
  return next;
}

/**
 * Gathers, per customer × meter × window in [from, to): calls served and billable units in the ledger (and
 * the part not yet claimed), the outbox by kind and state, and Stripe's meter event summaries (one call per
 * linked customer × meter, grouped by `windowMs`: an hour or a day).
 */
export async function collectFacts(
  deps: BillingDeps,
  client: BillingClient,
  meters: BillingMeterRow[],
  q: { from: number; to: number; windowMs: number; customerId?: string },
): Promise<KeyedFacts[]> {
  const cursor = await readClaimCursor(deps.db);
  const ledger = await ledgerWindows(deps.db, q, cursor);
  const outbox = await outboxWindows(deps.db, { ...q, recentSince: deps.now() - deps.settings.summaryLagMs });
  const ids = new Set([...ledger.map((l) => l.customerId), ...outbox.map((o) => o.customerId)]);
  const linked = q.customerId ? [] : (await listCustomers(deps.db)).filter((c) => c.stripeCustomerId);
  for (const c of linked) ids.add(c.id);
  if (q.customerId) ids.add(q.customerId);
  const customers = await customersByIds(deps.db, [...ids]);
  const facts = new Map<string, KeyedFacts>();
  const at = (customer: CustomerRow, meter: BillingMeter, windowStart: number): KeyedFacts => {
    const key = `${customer.id}|${meter}|${windowStart}`;
    let f = facts.get(key);
    if (!f) {
      f = { customer, meter, windowStart, served: 0, ledger: 0, unclaimed: 0, stripe: customer.stripeCustomerId ? 0 : null, usage: NO_OUTBOX, repair: NO_OUTBOX, parkedReasons: [] };
      facts.set(key, f);
    }
    return f;
  };
  const byId = new Map(customers.map((c) => [c.id, c]));
  for (const l of ledger) {
    for (const m of meters) {
      const [total, unclaimed] = LEDGER_FIELD[m.meter as BillingMeter];
      const f = at(byId.get(l.customerId)!, m.meter as BillingMeter, l.windowStart);
      f.served = Number(l.served);
      f.ledger = Number(l[total]);
      f.unclaimed = Number(l[unclaimed]);
    }
  }
  for (const o of outbox) {
    if (!meters.some((m) => m.meter === o.meter)) continue;
    const f = at(byId.get(o.customerId)!, o.meter as BillingMeter, o.windowStart);
    f[o.kind] = addState(f[o.kind], o.status, o.value, o.attemptedValue, o.recentValue);
    if (o.status === 'parked' && o.reasons) f.parkedReasons.push(o.reasons);
  }
  const grouping = q.windowMs === DAY_MS ? 'day' : 'hour';
  for (const customer of customers.filter((c) => c.stripeCustomerId)) {
    for (const m of meters) {
      const summaries = await client.eventSummaries({ meterId: m.stripeMeterId, stripeCustomerId: customer.stripeCustomerId!, start: q.from, end: q.to, grouping }).catch((error: unknown) => {
        if (!(error instanceof BillingApiError)) throw error;
        throw new ServiceError('billing_upstream_error', `Stripe could not list meter event summaries of ${customer.stripeCustomerId}: ${error.message}`);
      });
      for (const s of summaries) if (s.value) at(customer, m.meter as BillingMeter, s.start).stripe = s.value;
    }
  }
  return [...facts.values()].sort((a, b) => a.customer.id.localeCompare(b.customer.id) || a.meter.localeCompare(b.meter) || a.windowStart - b.windowStart);
}
