import { listPaymentFailures } from '../../db/repos/billing-customers.repo';
import type { BillingDeps } from './billing-deps';
import { commitCustomerChange, customerBillingStatements, loadCustomerBilling, statusChange } from './customer-status';

/**
 * Suspends customers whose invoice payment failed longer than the grace period ago (their keys then get
 * 403 `customer_suspended`); returns their ids. Runs with every sync and after each webhook.
 */
export async function applyPaymentGrace(deps: BillingDeps, now = deps.now()): Promise<string[]> {
  const suspended: string[] = [];
  for (const failure of await listPaymentFailures(deps.db)) {
    if (failure.paymentFailedAt === null || now < failure.paymentFailedAt + deps.settings.paymentGraceMs) continue;
    const loaded = await loadCustomerBilling(deps.db, failure.customerId, now);
    if (!loaded) continue;
    const change = statusChange(loaded.customer, loaded.state, { suspend: 'payment' });
    if (!change.status) continue;
    await commitCustomerChange(deps, customerBillingStatements(deps, loaded.customer, { ...loaded.state, suspendedReason: change.suspendedReason }, { status: change.status }));
    deps.log('info', 'customer suspended after the payment grace period', { customerId: failure.customerId });
    suspended.push(failure.customerId);
  }
  return suspended;
}
