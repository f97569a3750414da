/** Outbox value of one kind in a window, by state. */
export interface OutboxState {
  delivered: number;
  pending: number;
  /** Pending value already sent at least once (may be at Stripe, awaiting confirmation). */
  pendingAttempted: number;
  /** Delivered value so recent that Stripe's summaries (eventually consistent) may not show it yet. */
  deliveredRecently: number;
  parked: number;
  expired: number;
  canceled: number;
}

/** What is known of one customer × meter × window. `stripe` is null when the customer has no Stripe id. */
export interface WindowFacts {
  served: number;
  ledger: number;
  unclaimed: number;
  stripe: number | null;
  usage: OutboxState;
  repair: OutboxState;
  parkedReasons: string[];
}

/** The verdict on a window: `drift` fails reconcile; `in_flight` and `unlinked` are still on their way. */
export interface Judgement {
  status: 'ok' | 'in_flight' | 'unlinked' | 'drift';
  /** Ledger minus Stripe. */
  drift: number;
  notClaimed: number;
  missingAtStripe: number;
  extraAtStripe: number;
  reasons: string[];
}

/** An empty outbox state. */
export const NO_OUTBOX: OutboxState = Object.freeze({ delivered: 0, pending: 0, pendingAttempted: 0, deliveredRecently: 0, parked: 0, expired: 0, canceled: 0 });

const outboxTotal = (s: OutboxState) => s.delivered + s.pending + s.parked + s.expired;

/**
 * Explains the difference between the ledger and Stripe. Ledger − Stripe splits into: not yet claimed,
 * queued (pending), parked, expired, and a residual. A positive residual is usage Stripe lacks: "never
 * claimed" as far as no outbox row covers it (a meter set up after the usage), else "missing at Stripe"
 * (delivered but not counted). A negative residual is "extra at Stripe", beyond what queued rows that were
 * already sent may account for. Repair rows count as outbox rows, so a repaired window is clean again.
 */
export function judgeWindow(f: WindowFacts): Judgement {
  const pending = f.usage.pending + f.repair.pending;
  const attempted = f.usage.pendingAttempted + f.repair.pendingAttempted;
  const parked = f.usage.parked + f.repair.parked;
  const expired = f.usage.expired + f.repair.expired;
  const reasons: string[] = [];
  if (f.unclaimed) reasons.push(`unsynced ${f.unclaimed}: not yet claimed by billing sync`);
  if (pending) reasons.push(`unsynced ${pending}: queued in the outbox${attempted ? ` (${attempted} sent, awaiting confirmation)` : ''}`);
  if (f.stripe === null) {
    if (f.ledger) reasons.push(`unlinked: the customer has no Stripe customer id; usage waits until it is linked`);
    return { status: f.ledger ? 'unlinked' : 'ok', drift: f.ledger, notClaimed: 0, missingAtStripe: 0, extraAtStripe: 0, reasons };
  }
  const drift = f.ledger - f.stripe;
  const residual = drift - f.unclaimed - pending - parked - expired;
  const uncovered = Math.max(0, f.ledger - f.unclaimed - outboxTotal(f.usage) - outboxTotal(f.repair));
  const notClaimed = Math.max(0, Math.min(residual, uncovered));
  // Stripe aggregates meter events asynchronously: what was delivered within the last hour is still on its
  // way into the summaries, not missing (repairing it would bill it twice).
  const recent = Math.min(Math.max(0, residual - notClaimed), f.usage.deliveredRecently + f.repair.deliveredRecently);
  const missingAtStripe = Math.max(0, residual - notClaimed - recent);
  const extraAtStripe = residual < 0 ? Math.max(0, -residual - attempted) : 0;
  if (parked) reasons.push(`parked ${parked}: ${f.parkedReasons.join('; ') || 'refused by Stripe'}`);
  if (expired) reasons.push(`expired ${expired}: older than Stripe's 35-day meter event window`);
  if (notClaimed) reasons.push(`never claimed ${notClaimed}: usage from before this meter was set up`);
  if (recent) reasons.push(`unsynced ${recent}: delivered within the last hour, not yet in Stripe's summaries`);
  if (missingAtStripe) reasons.push(`missing at Stripe ${missingAtStripe}: delivered but not counted by Stripe`);
  if (extraAtStripe) reasons.push(`extra at Stripe ${extraAtStripe}: Stripe holds more than the ledger`);
  const failing = parked || expired || notClaimed || missingAtStripe || extraAtStripe;
  return { status: failing ? 'drift' : f.unclaimed || pending || recent ? 'in_flight' : 'ok', drift, notClaimed, missingAtStripe, extraAtStripe, reasons };
}
