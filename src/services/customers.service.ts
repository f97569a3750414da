import { findCustomer, insertCustomer, listCustomers } from '../db/repos/customers.repo';
import type { CustomerRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { randomBase62 } from '../domain/base62';
import { newId } from '../domain/ids';
import type { AdminDeps } from './admin';
import { getPlan } from './plans.service';

/** Creates a customer, optionally on a plan (by id or name). */
export async function createCustomer(
  deps: AdminDeps,
  input: { name: string; email?: string | null; plan?: string | null; stripeCustomerId?: string | null; webhookUrl?: string | null },
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
    webhookUrl: input.webhookUrl ?? null,
    webhookSecret: input.webhookUrl ? `whsec_${randomBase62(32)}` : null,
    createdAt: deps.now(),
  };
  await insertCustomer(deps.db, row);
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
