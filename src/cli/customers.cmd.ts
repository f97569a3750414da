import type { CustomerRow, PlanRow } from '../db/schema';
import type { AdminDeps } from '../services/admin';
import { createCustomer, getCustomer, getCustomers } from '../services/customers.service';
import { getKeys } from '../services/keys.service';
import { getPlans } from '../services/plans.service';
import type { Noun } from './args';
import { keyTable } from './keys.cmd';
import { fields, iso, table } from './output';

async function planNames(deps: AdminDeps): Promise<Map<string, string>> {
  return new Map((await getPlans(deps)).map((p: PlanRow) => [p.id, p.name]));
}

function customerFields(c: CustomerRow, plans: Map<string, string>): string {
  return fields([
    ['id', c.id],
    ['name', c.name],
    ['email', c.email],
    ['plan', c.planId ? (plans.get(c.planId) ?? c.planId) : null],
    ['status', c.status],
    ['stripe customer', c.stripeCustomerId],
    ['created', iso(c.createdAt)],
  ]);
}

/** `tollgate customers create|list|show`. */
export const customersNoun: Noun = {
  name: 'customers',
  summary: 'Create and inspect customers (who keys belong to and who is billed).',
  verbs: [
    {
      name: 'customers create',
      summary: 'Create a customer, optionally on a plan.',
      options: {
        name: { type: 'string', value: 'name', required: true, help: 'display name (also usable instead of the id)' },
        email: { type: 'string', value: 'email', help: 'billing contact' },
        plan: { type: 'string', value: 'plan', help: 'plan id or name' },
      },
      async run({ args, admin }) {
        const deps = admin();
        const customer = await createCustomer(deps, { name: args.required('name'), email: args.string('email'), plan: args.string('plan') });
        return { json: customer, text: customerFields(customer, await planNames(deps)) };
      },
    },
    {
      name: 'customers list',
      summary: 'List all customers, oldest first.',
      options: {},
      async run({ admin }) {
        const deps = admin();
        const [customers, plans] = await Promise.all([getCustomers(deps), planNames(deps)]);
        const rows = customers.map((c) => [c.id, c.name, c.email, c.planId ? (plans.get(c.planId) ?? c.planId) : null, c.status, iso(c.createdAt)]);
        return { json: customers, text: table(['id', 'name', 'email', 'plan', 'status', 'created'], rows) };
      },
    },
    {
      name: 'customers show',
      summary: 'Show one customer and its keys (never their secrets).',
      positionals: ['id|name'],
      options: {},
      async run({ args, admin }) {
        const deps = admin();
        const customer = await getCustomer(deps, args.positional(0));
        const keys = await getKeys(deps, customer.id);
        const text = `${customerFields(customer, await planNames(deps))}\n\nkeys:\n${keyTable(keys)}`;
        return { json: { customer, keys }, text };
      },
    },
  ],
};
