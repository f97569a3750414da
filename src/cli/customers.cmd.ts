import type { CustomerRow, PlanRow } from '../db/schema';
import type { AdminDeps } from '../services/admin';
import { createCustomer, customerVersion, getCustomer, getCustomers, updateCustomer, type CustomerPatch } from '../services/customers.service';
import { getKeys } from '../services/keys.service';
import { getPlans } from '../services/plans.service';
import { UsageError, type Noun } from './args';
import { linkCreatedCustomer } from './billing-context';
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
    ['webhook url', c.webhookUrl],
    ['created', iso(c.createdAt)],
  ]);
}

/** A customer as printed: never its webhook signing secret (shown once, when it is made). */
function customerJson(c: CustomerRow): Omit<CustomerRow, 'webhookSecret'> {
  const { webhookSecret: _secret, ...rest } = c;
  return rest;
}

/** The new signing secret on its own line, for copying, under the warning that it is shown only this once. */
const webhookSecretBlock = (secret: string) =>
  `webhook signing secret (store it now, it will not be shown again; verify the tollgate-signature header with it):\n\n  ${secret}`;

/** JSON and text of a customer whose webhook secret was just made (null: none was). */
function withNewSecret(c: CustomerRow, newSecret: string | null, text: string) {
  return newSecret
    ? { json: { ...customerJson(c), webhook_secret: newSecret }, text: `${text}\n\n${webhookSecretBlock(newSecret)}` }
    : { json: customerJson(c), text };
}

/** `--plan none` and `--webhook-url none` clear. */
const orNone = (v: string | undefined) => (v === undefined ? undefined : v === 'none' || v === '' ? null : v);

/** `tollgate customers create|update|list|show`. */
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
        'webhook-url': { type: 'string', value: 'url', help: 'where budget and credit alerts are POSTed; a signing secret is generated and printed once' },
        stripe: { type: 'boolean', help: 'create the matching Stripe customer and link it (needs STRIPE_SECRET_KEY)' },
        'stripe-customer': { type: 'string', value: 'cus_id', help: 'link an existing Stripe customer' },
      },
      async run({ args, admin, audit }) {
        const deps = admin();
        let customer = await createCustomer(
          deps,
          { name: args.required('name'), email: args.string('email'), plan: args.string('plan'), webhookUrl: args.string('webhook-url') },
          audit,
        );
        if (args.flag('stripe') || args.string('stripe-customer')) customer = await linkCreatedCustomer({ admin, audit }, customer, args.string('stripe-customer'));
        return withNewSecret(customer, customer.webhookSecret, customerFields(customer, await planNames(deps)));
      },
    },
    {
      name: 'customers update',
      summary: 'Change a customer: plan, alert webhook URL, name, email or status; takes effect on the next request.',
      positionals: ['id|name'],
      options: {
        plan: { type: 'string', value: 'plan|none', help: 'move the customer to this plan (id or name); none takes it off its plan' },
        'webhook-url': {
          type: 'string',
          value: 'url|none',
          help: 'where budget and credit alerts are POSTed (HMAC-signed); the first URL set generates a signing secret, printed once; none stops alerts webhooks',
        },
        'rotate-webhook-secret': { type: 'boolean', help: 'replace the webhook signing secret (printed once); receivers must switch to the new one' },
        name: { type: 'string', value: 'name', help: 'rename the customer' },
        email: { type: 'string', value: 'email|none', help: 'billing contact; none clears it' },
        status: { type: 'string', value: 'active|suspended', help: 'suspended customers\' keys are refused (403) from the next request' },
      },
      async run({ args, admin, audit }) {
        const deps = admin();
        const current = await getCustomer(deps, args.positional(0));
        const status = args.string('status');
        const patch: CustomerPatch = {
          plan: orNone(args.string('plan')),
          webhookUrl: orNone(args.string('webhook-url')),
          rotateWebhookSecret: args.flag('rotate-webhook-secret'),
          name: args.string('name'),
          email: orNone(args.string('email')),
          status: status as CustomerPatch['status'],
        };
        if (status !== undefined && status !== 'active' && status !== 'suspended') {
          throw new UsageError(`--status takes active or suspended; got '${status}'`, 'customers update');
        }
        const customer = await updateCustomer(deps, current.id, patch, { audit, ifVersion: [customerVersion(current)] });
        const newSecret = customer.webhookSecret && customer.webhookSecret !== current.webhookSecret ? customer.webhookSecret : null;
        return withNewSecret(customer, newSecret, customerFields(customer, await planNames(deps)));
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
        return { json: customers.map(customerJson), text: table(['id', 'name', 'email', 'plan', 'status', 'created'], rows) };
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
        return { json: { customer: customerJson(customer), keys }, text };
      },
    },
  ],
};
