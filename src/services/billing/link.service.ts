import type { CustomerRow } from '../../db/schema';
import { ServiceError } from '../../domain/errors';
import type { AdminDeps } from '../admin';
import type { AuditContext } from '../audit.service';
import { getCustomer, linkStripeCustomer } from '../customers.service';
import type { BillingDeps } from './billing-deps';
import { requireClient } from './sync.service';

/**
 * Links a customer to a Stripe customer: the one given (checked to exist when Stripe is configured), or a
 * new one created at Stripe (idempotent per Tollgate customer, so a retried link never makes two).
 * Usage the customer ran up while unlinked has waited in the outbox and is sent by the next sync.
 */
export async function linkCustomerToStripe(
  admin: AdminDeps,
  billing: BillingDeps,
  idOrName: string,
  stripeCustomerId?: string,
  audit?: AuditContext,
): Promise<CustomerRow> {
  const customer = await getCustomer(admin, idOrName);
  if (stripeCustomerId) {
    if (billing.client && !(await billing.client.customerExists(stripeCustomerId))) {
      throw new ServiceError('not_found', `Stripe has no customer ${stripeCustomerId}.`, 'stripe_customer_id');
    }
    return linkStripeCustomer(admin, customer.id, stripeCustomerId, audit);
  }
  if (customer.stripeCustomerId) return customer;
  const created = await requireClient(billing).createCustomer({ tollgateCustomerId: customer.id, name: customer.name, email: customer.email });
  return linkStripeCustomer(admin, customer.id, created, audit);
}
