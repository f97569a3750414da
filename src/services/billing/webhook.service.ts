import { findCustomerByStripeId, recordWebhookEventStatement, webhookEventSeen } from '../../db/repos/billing-customers.repo';
import { findPlan } from '../../db/repos/plans.repo';
import type { BillingDeps } from './billing-deps';
import { customerBillingStatements, commitCustomerChange, loadCustomerBilling, statusChange } from './customer-status';
import { applyPaymentGrace } from './payment-grace.service';

/** The parts of a Stripe event the gateway reads (already signature-verified). */
export interface StripeEventLike {
  id: string;
  type: string;
  /** Seconds since the epoch. */
  created: number;
  data: { object: Record<string, unknown> };
}

/** What became of an event. */
export interface WebhookResult {
  outcome: 'applied' | 'duplicate' | 'ignored';
  note?: string;
}

/** Subscription statuses in which the customer may not call the API. */
const INACTIVE = new Set(['canceled', 'unpaid', 'incomplete_expired', 'paused']);

/** The `tollgate_plan` metadata of the subscription's first price that has it. */
function planOf(subscription: Record<string, unknown>): string | undefined {
  const items = ((subscription.items as { data?: unknown[] } | undefined)?.data ?? []) as Array<{ price?: { metadata?: Record<string, string> } }>;
  return items.map((i) => i.price?.metadata?.tollgate_plan).find((p) => typeof p === 'string' && p !== '');
}

/**
 * Applies one verified Stripe event, at most once per event id:
 * `customer.subscription.created|updated|deleted` set the customer's plan (price metadata `tollgate_plan`)
 * and status; `invoice.payment_failed` starts the payment grace period; `invoice.paid` ends it and lifts
 * a payment suspension. Anything else is acknowledged and ignored.
 */
export async function handleStripeEvent(deps: BillingDeps, event: StripeEventLike): Promise<WebhookResult> {
  if (await webhookEventSeen(deps.db, event.id)) return { outcome: 'duplicate' };
  const seen = recordWebhookEventStatement(deps.db, { id: event.id, type: event.type, createdAt: event.created * 1000, receivedAt: deps.now() });
  const object = event.data.object;
  const stripeCustomer = typeof object.customer === 'string' ? object.customer : (object.customer as { id?: string } | null)?.id;
  const relevant = event.type.startsWith('customer.subscription.') || event.type === 'invoice.payment_failed' || event.type === 'invoice.paid';
  const found = relevant && stripeCustomer ? await findCustomerByStripeId(deps.db, stripeCustomer) : undefined;
  const loaded = found ? await loadCustomerBilling(deps.db, found.id, deps.now()) : null;
  if (!relevant || !loaded) {
    await commitCustomerChange(deps, [seen]);
    return { outcome: 'ignored', note: relevant ? `no customer is linked to ${stripeCustomer}` : `event type ${event.type} is not used` };
  }
  const { customer, state } = loaded;
  const at = event.created * 1000;
  if (event.type.startsWith('customer.subscription.')) {
    if (state.subscriptionEventAt !== null && at < state.subscriptionEventAt) {
      await commitCustomerChange(deps, [seen]);
      return { outcome: 'ignored', note: 'older than the subscription event already applied' };
    }
    const status = event.type === 'customer.subscription.deleted' ? 'canceled' : String(object.status);
    const planRef = planOf(object);
    const plan = planRef ? await findPlan(deps.db, planRef) : undefined;
    if (planRef && !plan) deps.log('error', 'subscription names an unknown plan', { plan: planRef, customerId: customer.id });
    const change = statusChange(customer, state, INACTIVE.has(status) ? { suspend: 'subscription' } : { lift: 'subscription' });
    const next = { ...state, subscriptionId: String(object.id), subscriptionStatus: status, subscriptionEventAt: at, suspendedReason: change.suspendedReason };
    // A deleted subscription keeps the plan (its limits still apply); the customer is suspended instead.
    await commitCustomerChange(deps, [...customerBillingStatements(deps, customer, next, { status: change.status, planId: plan?.id }), seen]);
    return { outcome: 'applied', note: `plan ${plan?.name ?? 'unchanged'}, subscription ${status}` };
  }
  if (event.type === 'invoice.payment_failed') {
    const next = { ...state, paymentFailedAt: state.paymentFailedAt ?? at };
    await commitCustomerChange(deps, [...customerBillingStatements(deps, customer, next, {}), seen]);
    await applyPaymentGrace(deps);
    return { outcome: 'applied', note: 'payment failure recorded' };
  }
  const change = statusChange(customer, state, { lift: 'payment' });
  const next = { ...state, paymentFailedAt: null, suspendedReason: change.suspendedReason };
  await commitCustomerChange(deps, [...customerBillingStatements(deps, customer, next, { status: change.status }), seen]);
  return { outcome: 'applied', note: change.status === 'active' ? 'payment suspension lifted' : 'paid' };
}
