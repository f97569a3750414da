import { runAtomic } from '../../db/atomic';
import { insertAuditStatement } from '../../db/repos/audit.repo';
import { listBillingMeters, upsertBillingMeterStatement } from '../../db/repos/billing-meters.repo';
import type { AdminDeps } from '../admin';
import { auditRow, SYSTEM_AUDIT, type AuditContext } from '../audit.service';
import { listPlans } from '../../db/repos/plans.repo';
import { METER_DISPLAY_NAMES, METER_EVENT_NAMES, metersForPlans, type BillingMeter } from '../../domain/billing/meters';
import { ServiceError } from '../../domain/errors';
import type { MeterInfo } from './billing-client';
import type { BillingDeps } from './billing-deps';
import { requireClient } from './sync.service';

/** What setup did for one meter. */
export interface SetupLine {
  meter: BillingMeter;
  eventName: string;
  stripeMeterId: string;
  action: 'created' | 'adopted' | 'kept';
}

/** Refuses a Stripe meter the sync cannot report to (it sends `stripe_customer_id` and `value`, and sums). */
function checkUsable(meter: BillingMeter, m: MeterInfo): void {
  const problems = [
    m.status !== 'active' ? `is ${m.status}` : null,
    m.formula !== 'sum' ? `aggregates by '${m.formula}', not 'sum'` : null,
    m.customerPayloadKey !== 'stripe_customer_id' ? `maps customers by '${m.customerPayloadKey}', not 'stripe_customer_id'` : null,
    m.valuePayloadKey !== 'value' ? `reads the value from '${m.valuePayloadKey}', not 'value'` : null,
  ].filter(Boolean);
  if (problems.length) throw new ServiceError('invalid_request', `Stripe meter ${m.id} cannot bill ${meter}: it ${problems.join(', ')}.`, meter);
}

/**
 * Creates — or adopts, idempotently — the Stripe Billing Meters the plans need, and records their ids.
 * `meters` overrides which (default: those some plan prices, else all four). `adopt` names an existing
 * Stripe meter id per meter; otherwise an active meter with Tollgate's event name is adopted, and only
 * when there is none is one created (`sum`, customer mapping `stripe_customer_id`, value key `value`).
 */
export async function setupBilling(
  deps: BillingDeps,
  input: { meters?: BillingMeter[]; adopt?: Partial<Record<BillingMeter, string>> } = {},
  audit: AuditContext = SYSTEM_AUDIT,
): Promise<SetupLine[]> {
  const client = requireClient(deps);
  const wanted = input.meters?.length ? input.meters : metersForPlans((await listPlans(deps.db)).map((p) => p.limits));
  for (const m of Object.keys(input.adopt ?? {}) as BillingMeter[]) if (!wanted.includes(m)) wanted.push(m);
  const existing = await client.listMeters();
  const recorded = new Map((await listBillingMeters(deps.db)).map((r) => [r.meter, r.stripeMeterId]));
  const lines: SetupLine[] = [];
  for (const meter of wanted) {
    const adoptId = input.adopt?.[meter];
    let found = adoptId ? existing.find((m) => m.id === adoptId) : existing.find((m) => m.eventName === METER_EVENT_NAMES[meter] && m.status === 'active');
    if (adoptId && !found) throw new ServiceError('not_found', `No Stripe meter ${adoptId} (to adopt for ${meter}).`, meter);
    let action: SetupLine['action'] = found && recorded.get(meter) === found.id ? 'kept' : 'adopted';
    if (!found) {
      found = await client.createMeter({ eventName: METER_EVENT_NAMES[meter], displayName: METER_DISPLAY_NAMES[meter] });
      action = 'created';
    }
    checkUsable(meter, found);
    const now = deps.now();
    const upsert = upsertBillingMeterStatement(deps.db, { meter, eventName: found.eventName, stripeMeterId: found.id, createdAt: now, updatedAt: now });
    if (action === 'kept') await runAtomic(deps.db, [upsert]);
    else {
      // Pointing a meter at a (new) Stripe meter changes where usage is billed: audited in the same commit.
      const entry = auditRow(deps as unknown as AdminDeps, audit, `billing.meter.${action}`, { type: 'billing_meter', id: meter }, {
        before: { stripeMeterId: recorded.get(meter) ?? null },
        after: { stripeMeterId: found.id, eventName: found.eventName },
      });
      await runAtomic(deps.db, [upsert, insertAuditStatement(deps.db, entry)]);
    }
    lines.push({ meter, eventName: found.eventName, stripeMeterId: found.id, action });
  }
  return lines;
}
