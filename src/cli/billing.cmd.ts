import { isBillingMeter, BILLING_METERS, type BillingMeter } from '../domain/billing/meters';
import { billingStatus, listParked, retryParked } from '../services/billing/parked.service';
import { linkCustomerToStripe } from '../services/billing/link.service';
import { reconcile } from '../services/billing/reconcile.service';
import { repairDrift } from '../services/billing/repair.service';
import { setupBilling } from '../services/billing/setup.service';
import { sendOutbox } from '../services/billing/send.service';
import { requireClient, requireMeters, runSync } from '../services/billing/sync.service';
import { getCustomer } from '../services/customers.service';
import { monthStart, parseTime } from '../services/usage.service';
import { parseInteger, UsageError, type Noun } from './args';
import { cliBillingDeps } from './billing-context';
import { parkedText, reconcileText, setupText, syncText } from './billing-output';
import { fields, table } from './output';

/** Exit code of a billing verb that ran but found work undone or drift. */
export const BILLING_INCOMPLETE_EXIT = 3;

function parseMeters(value: string | undefined): BillingMeter[] | undefined {
  if (!value) return undefined;
  const meters = value.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of meters) if (!isBillingMeter(m)) throw new UsageError(`unknown meter '${m}'; meters: ${BILLING_METERS.join(', ')}`, 'billing setup');
  return meters as BillingMeter[];
}

function parseAdopt(values: string[]): Partial<Record<BillingMeter, string>> {
  const out: Partial<Record<BillingMeter, string>> = {};
  for (const v of values) {
    const [meter, id] = v.split('=');
    if (!isBillingMeter(meter ?? '') || !id) throw new UsageError(`--adopt takes meter=mtr_…, e.g. requests=mtr_123; got '${v}'`, 'billing setup');
    out[meter as BillingMeter] = id;
  }
  return out;
}

/** `tollgate billing setup|link|sync|reconcile|parked|retry|status`. */
export const billingNoun: Noun = {
  name: 'billing',
  summary: 'Stripe metered billing: meters, customer links, usage sync, reconciliation (needs STRIPE_SECRET_KEY).',
  verbs: [
    {
      name: 'billing setup',
      summary: 'Create or adopt the Stripe Billing Meters the plans need, and record their ids (idempotent).',
      options: {
        meters: { type: 'string', value: 'list', help: `which meters (default: those some plan prices, else all): ${BILLING_METERS.join(',')}` },
        adopt: { type: 'string', value: 'meter=mtr_id', multiple: true, help: 'use this existing Stripe meter for a meter' },
      },
      async run(ctx) {
        const lines = await setupBilling(cliBillingDeps(ctx), { meters: parseMeters(ctx.args.string('meters')), adopt: parseAdopt(ctx.args.list('adopt')) }, ctx.audit);
        return { json: lines, text: setupText(lines) };
      },
    },
    {
      name: 'billing link',
      summary: 'Link a customer to a Stripe customer: the one given, or a new one created at Stripe.',
      positionals: ['customer'],
      options: { 'stripe-customer': { type: 'string', value: 'cus_id', help: 'an existing Stripe customer (default: create one)' } },
      async run(ctx) {
        const customer = await linkCustomerToStripe(ctx.admin(), cliBillingDeps(ctx), ctx.args.positional(0), ctx.args.string('stripe-customer'), ctx.audit);
        return { json: customer, text: fields([['customer', customer.id], ['name', customer.name], ['stripe customer', customer.stripeCustomerId]]) };
      },
    },
    {
      name: 'billing sync',
      summary: 'Send unsynced usage to Stripe now (safe to kill and rerun; never bills twice). Exit 3 if rows remain unsent.',
      options: {
        'hold-open': { type: 'boolean', help: 'keep buckets that are still filling for a later run (as the server job does)' },
        'slice-rows': { type: 'string', value: 'n', help: 'ledger rows per claim commit (default 100000; smaller holds the write lock for less time)' },
      },
      async run(ctx) {
        const sliceRows = parseInteger(ctx.args.string('slice-rows'), 'slice-rows', 'billing sync');
        if (sliceRows !== undefined && sliceRows < 1) throw new UsageError('--slice-rows must be at least 1', 'billing sync');
        const report = await runSync(cliBillingDeps(ctx), { holdOpen: ctx.args.flag('hold-open'), sliceRows });
        const incomplete = report.sent.outage || report.sent.deferred > 0;
        return { json: report, text: syncText(report), exitCode: incomplete ? BILLING_INCOMPLETE_EXIT : 0 };
      },
    },
    {
      name: 'billing reconcile',
      summary: 'Compare served calls, ledger units and Stripe per customer × meter × day; exit 3 on drift beyond what is in flight.',
      options: {
        from: { type: 'string', value: 'date', help: 'first day, YYYY-MM-DD (default: start of this month, UTC)' },
        to: { type: 'string', value: 'date', help: 'end day, exclusive (default: tomorrow, UTC)' },
        customer: { type: 'string', value: 'id|name', help: 'only this customer' },
        repair: { type: 'boolean', help: 'send what Stripe lacks (new identifiers), cancel what it holds twice where still possible, then reconcile again' },
      },
      async run(ctx) {
        const deps = cliBillingDeps(ctx);
        const now = deps.now();
        const customer = ctx.args.string('customer');
        const input = {
          from: parseTime(ctx.args.string('from'), 'from') ?? monthStart(now),
          to: parseTime(ctx.args.string('to'), 'to') ?? now + 1,
          customerId: customer ? (await getCustomer(ctx.admin(), customer)).id : undefined,
        };
        let report = await reconcile(deps, input);
        if (!ctx.args.flag('repair') || report.ok) return { json: report, text: reconcileText(report), exitCode: report.ok ? 0 : BILLING_INCOMPLETE_EXIT };
        const client = requireClient(deps);
        const meters = await requireMeters(deps);
        const repairs = await repairDrift(deps, client, meters, report, ctx.audit);
        await sendOutbox(deps, client, meters);
        report = await reconcile(deps, input);
        return { json: { ...report, repairs }, text: reconcileText(report, repairs), exitCode: report.ok ? 0 : BILLING_INCOMPLETE_EXIT };
      },
    },
    {
      name: 'billing parked',
      summary: 'List usage Stripe refused for good (unknown customer, …) with the reason.',
      options: { customer: { type: 'string', value: 'id|name', help: 'only this customer' } },
      async run(ctx) {
        const customer = ctx.args.string('customer');
        const rows = await listParked(cliBillingDeps(ctx), customer ? (await getCustomer(ctx.admin(), customer)).id : undefined);
        return { json: rows, text: parkedText(rows) };
      },
    },
    {
      name: 'billing retry',
      summary: 'Queue parked usage again after fixing its cause (same identifiers, so still never doubled).',
      options: {
        customer: { type: 'string', value: 'id|name', help: 'only this customer' },
        identifier: { type: 'string', value: 'id', help: 'only this outbox row' },
      },
      async run(ctx) {
        const customer = ctx.args.string('customer');
        const count = await retryParked(cliBillingDeps(ctx), { customerId: customer ? (await getCustomer(ctx.admin(), customer)).id : undefined, identifier: ctx.args.string('identifier') }, ctx.audit);
        return { json: { requeued: count }, text: `requeued ${count} row(s); run 'tollgate billing sync' to send them` };
      },
    },
    {
      name: 'billing status',
      summary: 'Meters set up, the ledger claim cursor and the outbox by status.',
      options: {},
      async run(ctx) {
        const s = await billingStatus(cliBillingDeps(ctx));
        const text = `${table(['meter', 'event name', 'stripe meter'], s.meters.map((m) => [m.meter, m.eventName, m.stripeMeterId]))}\n\nclaim cursor: ${s.claimCursor}\n\n${table(['status', 'rows', 'value'], s.outbox.map((o) => [o.status, o.rows, o.value]))}`;
        return { json: s, text };
      },
    },
  ],
};
