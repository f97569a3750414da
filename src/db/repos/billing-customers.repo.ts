import { eq, inArray, isNotNull } from 'drizzle-orm';
import { billingCustomerState, billingWebhookEvents, customers, type BillingCustomerStateRow, type CustomerRow } from '../schema';
import type { Db } from '../types';

/** The customer linked to a Stripe customer id. */
export async function findCustomerByStripeId(db: Db, stripeCustomerId: string): Promise<CustomerRow | undefined> {
  const rows = await db.select().from(customers).where(eq(customers.stripeCustomerId, stripeCustomerId)).limit(1);
  return rows[0];
}

/** Customers by id (for Stripe ids and names in reports). */
export async function customersByIds(db: Db, ids: string[]): Promise<CustomerRow[]> {
  if (ids.length === 0) return [];
  const out: CustomerRow[] = [];
  for (let i = 0; i < ids.length; i += 500) out.push(...(await db.select().from(customers).where(inArray(customers.id, ids.slice(i, i + 500)))));
  return out;
}

/** What billing knows of a customer's subscription and payments. */
export async function findBillingState(db: Db, customerId: string): Promise<BillingCustomerStateRow | undefined> {
  const rows = await db.select().from(billingCustomerState).where(eq(billingCustomerState.customerId, customerId)).limit(1);
  return rows[0];
}

/** Every customer whose payment failed and is not yet lifted. */
export async function listPaymentFailures(db: Db): Promise<BillingCustomerStateRow[]> {
  return db.select().from(billingCustomerState).where(isNotNull(billingCustomerState.paymentFailedAt));
}

/** Statement: writes a customer's billing state. */
export function upsertBillingStateStatement(db: Db, row: BillingCustomerStateRow) {
  const { customerId: _id, ...set } = row;
  return db.insert(billingCustomerState).values(row).onConflictDoUpdate({ target: billingCustomerState.customerId, set });
}

/** Statement: sets a customer's plan and/or status. */
export function updateCustomerStatement(db: Db, customerId: string, set: { planId?: string | null; status?: 'active' | 'suspended' }) {
  return db.update(customers).set(set).where(eq(customers.id, customerId));
}

/** Whether a webhook event id was already handled. */
export async function webhookEventSeen(db: Db, id: string): Promise<boolean> {
  const rows = await db.select({ id: billingWebhookEvents.id }).from(billingWebhookEvents).where(eq(billingWebhookEvents.id, id)).limit(1);
  return rows.length > 0;
}

/** Statement: records a handled webhook event (a replay of the same id is then skipped). */
export function recordWebhookEventStatement(db: Db, row: typeof billingWebhookEvents.$inferInsert) {
  return db.insert(billingWebhookEvents).values(row).onConflictDoNothing();
}
