import { runAtomic } from '../db/atomic';
import { insertAuditStatement, guardedAuditStatement } from '../db/repos/audit.repo';
import { findCustomerByStripeId } from '../db/repos/billing-customers.repo';
import { findCustomer, insertCustomerStatement, listCustomers, pageCustomers, updateCustomerStatement, type CustomerFilter } from '../db/repos/customers.repo';
import type { CustomerRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { randomBase62 } from '../domain/base62';
import { newId } from '../domain/ids';
import { versionTag } from '../domain/version-tag';
import type { AdminDeps } from './admin';
import { auditChanges, auditRow, checkVersion, commitAudited, staleRecord, SYSTEM_AUDIT, type AuditContext, type UpdateOptions } from './audit.service';
import { pageParams, pageResult, type PageRequest, type PageResult } from './paging';
import { getPlan } from './plans.service';

/** Creates a customer, optionally on a plan (by id or name). */
export async function createCustomer(
  deps: AdminDeps,
  input: { name: string; email?: string | null; plan?: string | null; stripeCustomerId?: string | null; webhookUrl?: string | null },
  audit: AuditContext = SYSTEM_AUDIT,
): Promise<CustomerRow> {
  const name = input.name.trim();
  if (!name) throw new ServiceError('invalid_request', 'A customer needs a name.', 'name');
  const plan = input.plan ? await getPlan(deps, input.plan) : null;
  const row: CustomerRow = {
    id: newId('cus'),
    name,
    email: input.email ?? null,
    planId: plan?.id ?? null,
    status: 'active',
    stripeCustomerId: input.stripeCustomerId ?? null,
    webhookUrl: input.webhookUrl ? checkWebhookUrl(input.webhookUrl) : null,
    webhookSecret: input.webhookUrl ? newWebhookSecret() : null,
    createdAt: deps.now(),
  };
  const entry = auditRow(deps, audit, 'customer.create', { type: 'customer', id: row.id }, auditChanges(null, row)!);
  await runAtomic(deps.db, [insertCustomerStatement(deps.db, row), insertAuditStatement(deps.db, entry)]);
  deps.changes.changed();
  return row;
}

/** All customers. */
export function getCustomers(deps: AdminDeps): Promise<CustomerRow[]> {
  return listCustomers(deps.db);
}

/** A customer by id or name, or not_found. */
export async function getCustomer(deps: AdminDeps, idOrName: string): Promise<CustomerRow> {
  const customer = await findCustomer(deps.db, idOrName);
  if (!customer) throw new ServiceError('not_found', `No customer '${idOrName}'.`, 'customer');
  return customer;
}

/** What an admin may change on a customer; absent fields stay as they are. */
export interface CustomerPatch {
  name?: string;
  email?: string | null;
  /** Plan id or name; null takes the customer off its plan. */
  plan?: string | null;
  status?: 'active' | 'suspended';
  /** Where budget and credit alerts are POSTed; null stops them. A secret is generated when the first URL is set. */
  webhookUrl?: string | null;
  /** Replaces the webhook signing secret (receivers must switch to the new one). */
  rotateWebhookSecret?: boolean;
}

/** A webhook URL as stored: an absolute http(s) URL. */
function checkWebhookUrl(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url.trim());
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new ServiceError('invalid_request', `The webhook URL must be an absolute http(s) URL, got '${url}'.`, 'webhook_url');
  }
  return parsed.href;
}

const newWebhookSecret = () => `whsec_${randomBase62(32)}`;

/** The version tag (ETag) of a customer as stored. */
export const customerVersion = (row: CustomerRow) => versionTag(row);

/** Changes a customer; refused with precondition_failed if it is no longer at a demanded version. */
export async function updateCustomer(deps: AdminDeps, idOrName: string, patch: CustomerPatch, options: UpdateOptions = {}): Promise<CustomerRow> {
  const current = await getCustomer(deps, idOrName);
  checkVersion(customerVersion(current), options.ifVersion, `Customer ${current.id}`);
  const next: CustomerRow = { ...current };
  if (patch.name !== undefined) {
    next.name = patch.name.trim();
    if (!next.name) throw new ServiceError('invalid_request', 'A customer needs a name.', 'name');
  }
  if (patch.email !== undefined) next.email = patch.email;
  if (patch.plan !== undefined) next.planId = patch.plan === null ? null : (await getPlan(deps, patch.plan)).id;
  if (patch.status !== undefined) next.status = patch.status;
  if (patch.webhookUrl !== undefined) next.webhookUrl = patch.webhookUrl === null ? null : checkWebhookUrl(patch.webhookUrl);
  if (patch.rotateWebhookSecret || (next.webhookUrl && !next.webhookSecret)) next.webhookSecret = newWebhookSecret();
  const changes = auditChanges(current, next);
  if (!changes) return current;
  const entry = auditRow(deps, options.audit ?? SYSTEM_AUDIT, 'customer.update', { type: 'customer', id: current.id }, changes);
  await commitAudited(deps.db, [updateCustomerStatement(deps.db, current, next), guardedAuditStatement(deps.db, entry)], staleRecord(`Customer ${current.id}`));
  deps.changes.changed();
  return next;
}

/** Links a customer to its Stripe customer (`cus_…`), whose usage billing then sends; one Tollgate customer per Stripe customer. */
export async function linkStripeCustomer(deps: AdminDeps, idOrName: string, stripeCustomerId: string, audit: AuditContext = SYSTEM_AUDIT): Promise<CustomerRow> {
  const current = await getCustomer(deps, idOrName);
  const id = stripeCustomerId.trim();
  if (!/^cus_\w+$/.test(id)) throw new ServiceError('invalid_request', `'${stripeCustomerId}' is not a Stripe customer id (cus_…).`, 'stripe_customer_id');
  const other = await findCustomerByStripeId(deps.db, id);
  if (other && other.id !== current.id) throw new ServiceError('conflict', `Stripe customer ${id} is already linked to customer ${other.id}.`, 'stripe_customer_id');
  const next: CustomerRow = { ...current, stripeCustomerId: id };
  const changes = auditChanges(current, next);
  if (!changes) return current;
  const entry = auditRow(deps, audit, 'customer.link_stripe', { type: 'customer', id: current.id }, changes);
  await commitAudited(deps.db, [updateCustomerStatement(deps.db, current, next), guardedAuditStatement(deps.db, entry)], staleRecord(`Customer ${current.id}`));
  deps.changes.changed();
  return next;
}

/** Customers, oldest first, filtered and paged. */
export async function getCustomersPage(deps: AdminDeps, filter: CustomerFilter, page: PageRequest = {}): Promise<PageResult<CustomerRow>> {
  const { after, limit } = pageParams(page, 2);
  return pageResult(await pageCustomers(deps.db, filter, after, limit), (row) => row);
}
