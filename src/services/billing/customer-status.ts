import { runAtomic } from '../../db/atomic';
import { findBillingState, updateCustomerStatement, upsertBillingStateStatement } from '../../db/repos/billing-customers.repo';
import { findCustomer } from '../../db/repos/customers.repo';
import type { BillingCustomerStateRow, CustomerRow } from '../../db/schema';
import type { Db } from '../../db/types';
import { insertAuditStatement } from '../../db/repos/audit.repo';
import { auditChanges, auditRow, type AuditContext } from '../audit.service';
import { createChangeWatch } from '../change-watch';
import type { BillingDeps } from './billing-deps';

/** Why billing suspends a customer. */
export type SuspendReason = 'payment' | 'subscription';

/** A customer with what billing knows of it (a blank state when nothing yet). */
export async function loadCustomerBilling(db: Db, customerId: string, now: number): Promise<{ customer: CustomerRow; state: BillingCustomerStateRow } | null> {
  const customer = await findCustomer(db, customerId);
  if (!customer) return null;
  const state = (await findBillingState(db, customer.id)) ?? {
    customerId: customer.id, subscriptionId: null, subscriptionStatus: null, subscriptionEventAt: null, paymentFailedAt: null, suspendedReason: null, updatedAt: now,
  };
  return { customer, state };
}

/**
 * The status change billing wants: suspend for `reason` (unless an admin suspended the customer already,
 * which billing then never lifts), or lift a suspension billing itself imposed for `reason`.
 */
export function statusChange(customer: CustomerRow, state: BillingCustomerStateRow, want: { suspend?: SuspendReason; lift?: SuspendReason }) {
  if (want.suspend) {
    if (state.suspendedReason) return { status: undefined, suspendedReason: state.suspendedReason };
    if (customer.status === 'suspended') return { status: undefined, suspendedReason: null };
    return { status: 'suspended' as const, suspendedReason: want.suspend };
  }
  if (want.lift && state.suspendedReason === want.lift) return { status: 'active' as const, suspendedReason: null };
  return { status: undefined, suspendedReason: state.suspendedReason };
}

/** Who the audit log names for changes billing makes on its own (webhooks, the grace period). */
export const BILLING_AUDIT: AuditContext = Object.freeze({ actor: 'stripe', requestId: null });

/** Statements writing a customer's billing state, plan and status together, with an audit entry when plan or status change. */
export function customerBillingStatements(
  deps: BillingDeps,
  customer: CustomerRow,
  state: BillingCustomerStateRow,
  change: { status?: 'active' | 'suspended'; planId?: string },
  action = 'customer.billing_update',
) {
  const statements: Array<{ run(): unknown }> = [upsertBillingStateStatement(deps.db, { ...state, updatedAt: deps.now() })];
  const set = { ...(change.status ? { status: change.status } : {}), ...(change.planId !== undefined ? { planId: change.planId } : {}) };
  const changes = auditChanges(customer, { ...customer, ...set });
  if (changes) {
    statements.push(updateCustomerStatement(deps.db, customer.id, set));
    const admin = { db: deps.db, now: deps.now, changes: deps.changes ?? createChangeWatch() };
    statements.push(insertAuditStatement(deps.db, auditRow(admin, BILLING_AUDIT, action, { type: 'customer', id: customer.id }, changes)));
  }
  return statements;
}

/** Commits statements and tells key caches that a customer changed. */
export async function commitCustomerChange(deps: BillingDeps, statements: Array<{ run(): unknown }>): Promise<void> {
  await runAtomic(deps.db, statements);
  deps.changes?.changed();
}
