import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../context';
import { ServiceError } from '../../domain/errors';
import type { BillingDeps } from '../../services/billing/billing-deps';
import { listParked, retryParked, type ParkedRow } from '../../services/billing/parked.service';
import { reconcile, type ReconcileLine } from '../../services/billing/reconcile.service';
import { linkCustomerToStripe } from '../../services/billing/link.service';
import { setupBilling } from '../../services/billing/setup.service';
import { runSync } from '../../services/billing/sync.service';
import { BILLING_METERS } from '../../domain/billing/meters';
import { getCustomer } from '../../services/customers.service';
import { monthStart, parseTime } from '../../services/usage.service';
import { adminRoute, auditOf, jsonResponse } from './route';
import { Customer, Problem, Time } from './schemas';
import { customerJson } from './views';

const ReconciliationLine = z
  .object({
    customer_id: z.string(),
    customer_name: z.string(),
    stripe_customer_id: z.string().nullable(),
    meter: z.enum(['requests', 'input_tokens', 'output_tokens', 'predictions']),
    day: z.string().openapi({ example: '2030-01-31' }),
    served: z.number().int().openapi({ description: 'calls the gateway served that day (failed ones too)' }),
    ledger: z.number().int().openapi({ description: 'billable units in the ledger' }),
    stripe: z.number().nullable().openapi({ description: "Stripe's meter event summary; null without a Stripe customer" }),
    drift: z.number().openapi({ description: 'ledger − Stripe' }),
    status: z.enum(['ok', 'in_flight', 'unlinked', 'drift']),
    not_claimed: z.number(),
    missing_at_stripe: z.number(),
    extra_at_stripe: z.number(),
    reasons: z.array(z.string()),
  })
  .openapi('BillingReconciliationLine');

const Reconciliation = z
  .object({ object: z.literal('billing_reconciliation'), from: z.string(), to: z.string(), ok: z.boolean(), meters: z.array(z.string()), lines: z.array(ReconciliationLine) })
  .openapi('BillingReconciliation');

const Parked = z
  .object({ identifier: z.string(), customer_id: z.string(), meter: z.string(), bucket_start: Time, value: z.number().int(), attempts: z.number().int(), reason: z.string().nullable(), parked_at: Time })
  .openapi('BillingParkedRow');

const Meter = z.enum(BILLING_METERS);

const SetupLine = z
  .object({ meter: Meter, event_name: z.string(), stripe_meter_id: z.string(), action: z.enum(['created', 'adopted', 'kept']) })
  .openapi('BillingSetupLine');

const SyncReport = z
  .object({
    object: z.literal('billing_sync'),
    claimed_rows: z.number().int().openapi({ description: 'ledger rows claimed into the outbox' }),
    delivered: z.number().int(),
    duplicates: z.number().int().openapi({ description: 'events Stripe already had (same identifier): delivered before, not billed twice' }),
    parked: z.number().int(),
    deferred: z.number().int().openapi({ description: 'rows left for a later run (open buckets, backoff)' }),
    outage: z.boolean().openapi({ description: 'the run stopped because Stripe kept failing' }),
    expired: z.number().int(),
  })
  .openapi('BillingSyncReport');

const customerQuery = z.string().optional().openapi({ description: 'customer id or name' });

/** Billing deps, or 503 when the gateway runs without Stripe billing wired in. */
function billingOf(c: Context<AppEnv>): BillingDeps {
  const billing = c.var.deps.billing?.deps;
  if (!billing) throw new ServiceError('billing_not_configured', 'Stripe billing is not configured on this gateway.');
  return billing;
}

const lineJson = (l: ReconcileLine) => ({
  customer_id: l.customerId, customer_name: l.customerName, stripe_customer_id: l.stripeCustomerId, meter: l.meter as z.infer<typeof ReconciliationLine>['meter'],
  day: l.day, served: l.served, ledger: l.ledger, stripe: l.stripe, drift: l.drift, status: l.status,
  not_claimed: l.notClaimed, missing_at_stripe: l.missingAtStripe, extra_at_stripe: l.extraAtStripe, reasons: l.reasons,
});
const parkedJson = (p: ParkedRow) => ({
  identifier: p.identifier, customer_id: p.customerId, meter: p.meter, bucket_start: p.bucketStart, value: p.value, attempts: p.attempts, reason: p.reason, parked_at: p.parkedAt,
});

/** `/admin/v1/billing/…`: reconciliation against Stripe, and usage Stripe refused (parked), with a retry. */
export const billingApi = new OpenAPIHono<AppEnv>()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/billing/reconciliation',
      operationId: 'getBillingReconciliation',
      summary: 'Per customer × meter × day: calls served, ledger units and what Stripe holds, each difference explained',
      tags: ['billing'],
      scope: 'admin:read',
      cli: 'billing reconcile',
      problems: [404],
      request: {
        query: z.object({
          from: z.string().optional().openapi({ description: 'first day, YYYY-MM-DD (default: start of this month, UTC)' }),
          to: z.string().optional().openapi({ description: 'end day, exclusive (default: tomorrow, UTC)' }),
          customer: customerQuery,
        }),
      },
      responses: {
        200: jsonResponse(Reconciliation, '`ok` is false when anything differs beyond what is still in flight; no meters set up: nothing to compare'),
        502: { description: 'Stripe failed to answer the meter event summaries.', content: { 'application/problem+json': { schema: Problem } } },
      },
    }),
    async (c) => {
      const { from, to, customer } = c.req.valid('query');
      const deps = c.var.deps;
      const billing = billingOf(c);
      const customerId = customer ? (await getCustomer(deps, customer)).id : undefined;
      // Compare against every call committed so far (on Workers, copied from the customers' objects first).
      await deps.ledger.caughtUp(customerId);
      const report = await reconcile(billing, { from: parseTime(from, 'from') ?? monthStart(deps.now()), to: parseTime(to, 'to') ?? deps.now() + 1, customerId });
      return c.json({ object: 'billing_reconciliation' as const, from: report.from, to: report.to, ok: report.ok, meters: report.meters, lines: report.lines.map(lineJson) }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/billing/parked',
      operationId: 'listParkedBillingRows',
      summary: 'Usage Stripe refused for good (unknown customer, …), with the reason; the rest keeps flowing',
      tags: ['billing'],
      scope: 'admin:read',
      cli: 'billing parked',
      problems: [404],
      request: { query: z.object({ customer: customerQuery }) },
      responses: { 200: jsonResponse(z.object({ object: z.literal('list'), data: z.array(Parked) }), 'Parked outbox rows') },
    }),
    async (c) => {
      const { customer } = c.req.valid('query');
      const customerId = customer ? (await getCustomer(c.var.deps, customer)).id : undefined;
      return c.json({ object: 'list' as const, data: (await listParked(billingOf(c), customerId)).map(parkedJson) }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/billing/parked/retry',
      operationId: 'retryParkedBillingRows',
      summary: 'Queue parked usage again after fixing its cause (same identifiers: still never billed twice)',
      tags: ['billing'],
      scope: 'billing:run',
      cli: 'billing retry',
      problems: [404],
      request: { body: { content: { 'application/json': { schema: z.strictObject({ customer: customerQuery, identifier: z.string().optional() }) } } } },
      responses: { 200: jsonResponse(z.object({ requeued: z.number().int() }), 'How many rows were queued again') },
    }),
    async (c) => {
      const { customer, identifier } = c.req.valid('json');
      const customerId = customer ? (await getCustomer(c.var.deps, customer)).id : undefined;
      return c.json({ requeued: await retryParked(billingOf(c), { customerId, identifier }, auditOf(c)) }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/billing/setup',
      operationId: 'setUpBilling',
      summary: 'Create or adopt the Stripe Billing Meters the plans need, and record their ids (idempotent)',
      tags: ['billing'],
      scope: 'billing:run',
      cli: 'billing setup',
      request: {
        body: {
          required: false,
          content: {
            'application/json': {
              schema: z.strictObject({
                meters: z.array(Meter).optional().openapi({ description: 'which meters (default: those some plan prices, else all)' }),
                adopt: z.record(Meter, z.string().regex(/^mtr_\w+$/, 'a Stripe meter id (mtr_…)')).optional().openapi({ description: 'an existing Stripe meter per meter' }),
              }),
            },
          },
        },
      },
      responses: {
        200: jsonResponse(z.object({ object: z.literal('list'), data: z.array(SetupLine) }), 'The meters and what was done for each'),
        502: { description: 'Stripe failed to answer.', content: { 'application/problem+json': { schema: Problem } } },
      },
    }),
    async (c) => {
      const body = (await c.req.json().catch(() => ({}))) as { meters?: Array<z.infer<typeof Meter>>; adopt?: Partial<Record<z.infer<typeof Meter>, string>> };
      const lines = await setupBilling(billingOf(c), { meters: body.meters, adopt: body.adopt }, auditOf(c));
      const data = lines.map((l) => ({ meter: l.meter, event_name: l.eventName, stripe_meter_id: l.stripeMeterId, action: l.action }));
      return c.json({ object: 'list' as const, data }, 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/billing/link',
      operationId: 'linkStripeCustomer',
      summary: 'Link a customer to a Stripe customer: the one given, or a new one created at Stripe',
      tags: ['billing'],
      scope: 'billing:run',
      cli: 'billing link',
      problems: [404, 409],
      request: {
        body: {
          content: {
            'application/json': {
              schema: z.strictObject({
                customer: z.string().openapi({ description: 'customer id or name' }),
                stripe_customer: z.string().optional().openapi({ description: 'an existing Stripe customer (cus_…); default: create one' }),
              }),
            },
          },
        },
      },
      responses: {
        200: jsonResponse(Customer, 'The customer, linked'),
        502: { description: 'Stripe failed to answer.', content: { 'application/problem+json': { schema: Problem } } },
      },
    }),
    async (c) => {
      const { customer, stripe_customer } = c.req.valid('json');
      const linked = await linkCustomerToStripe(c.var.deps, billingOf(c), customer, stripe_customer, auditOf(c));
      return c.json(customerJson(linked), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/billing/sync',
      operationId: 'syncBilling',
      summary: 'Send unsynced usage to Stripe now (safe to repeat; never bills twice); Workers also run it every minute',
      tags: ['billing'],
      scope: 'billing:run',
      cli: 'billing sync',
      request: {
        body: {
          required: false,
          content: { 'application/json': { schema: z.strictObject({ hold_open: z.boolean().optional().openapi({ description: 'keep buckets still filling for a later run' }) }) } },
        },
      },
      responses: {
        200: jsonResponse(SyncReport, 'What the run did'),
        502: { description: 'Stripe failed to answer.', content: { 'application/problem+json': { schema: Problem } } },
      },
    }),
    async (c) => {
      const body = (await c.req.json().catch(() => ({}))) as { hold_open?: boolean };
      const billing = billingOf(c);
      // Send every call committed so far (on Workers, copied from the customers' objects first).
      await c.var.deps.ledger.caughtUp();
      const r = await runSync(billing, { holdOpen: body.hold_open === true, sliceRows: 500, batchRows: 200 });
      return c.json(
        {
          object: 'billing_sync' as const, claimed_rows: r.claimed.rows, delivered: r.sent.delivered, duplicates: r.sent.duplicates,
          parked: r.sent.parked, deferred: r.sent.deferred, outage: r.sent.outage, expired: r.expired.length,
        },
        200,
      );
    },
  );
