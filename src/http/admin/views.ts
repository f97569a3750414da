import type { z } from '@hono/zod-openapi';
import type { ModelWithBackends } from '../../db/repos/models.repo';
import type { AlertEventRow, AuditRow, CreditGrantRow, CustomerRow, PlanRow, WebhookDeliveryRow } from '../../db/schema';
import type { KeyView } from '../../services/keys.service';
import type { PageResult } from '../../services/paging';
import type { AlertEvent, CreditGrant, WebhookDelivery } from './account-schemas';
import type { AuditEntry, Customer, Key, Model, Plan } from './schemas';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** A diff's fields as the API names them: snake_case, and times (`…At`) as ISO like everywhere else. */
const apiFields = (o: Record<string, unknown> | null) =>
  o ? Object.fromEntries(Object.entries(o).map(([k, v]) => [snake(k), k.endsWith('At') && typeof v === 'number' ? iso(v) : v])) : null;

/** A customer as the admin API shows it; the webhook secret only when `newSecret` (it was just made). */
export function customerJson(c: CustomerRow, newSecret = false): z.infer<typeof Customer> {
  return {
    object: 'customer',
    id: c.id,
    name: c.name,
    email: c.email,
    plan_id: c.planId,
    status: c.status,
    stripe_customer_id: c.stripeCustomerId,
    webhook_url: c.webhookUrl,
    ...(newSecret && c.webhookSecret ? { webhook_secret: c.webhookSecret } : {}),
    created_at: iso(c.createdAt),
  };
}

/** A plan as the admin API shows it. */
export function planJson(p: PlanRow): z.infer<typeof Plan> {
  return { object: 'plan', id: p.id, name: p.name, limits: p.limits as z.infer<typeof Plan>['limits'], created_at: iso(p.createdAt) };
}

/** A key as the admin API shows it: never the secret or its hash. */
export function keyJson(k: KeyView): z.infer<typeof Key> {
  return {
    object: 'key',
    id: k.id,
    customer_id: k.customerId,
    name: k.name,
    display_prefix: k.displayPrefix,
    environment: k.environment,
    state: k.state,
    allowed_models: k.allowedModels,
    limit_overrides: k.limitOverrides as z.infer<typeof Key>['limit_overrides'],
    expires_at: isoOrNull(k.expiresAt),
    revoked_at: isoOrNull(k.revokedAt),
    rolled_to: k.rolledTo,
    created_at: iso(k.createdAt),
  };
}

/** A model and its backends as the admin API shows them. */
export function modelJson({ model, backends }: ModelWithBackends): z.infer<typeof Model> {
  return {
    object: 'model',
    id: model.id,
    name: model.name,
    units: model.units,
    unit_header: model.unitHeader,
    created_at: iso(model.createdAt),
    backends: backends.map((b) => ({
      id: b.id,
      protocol: b.protocol,
      url: b.baseUrl,
      upstream_model: b.upstreamModel,
      credential_env: b.credentialEnv,
      timeout_ms: b.timeoutMs,
      weight: b.weight,
      priority: b.priority,
    })),
  };
}

/** An audit row as the admin API shows it (field names in the diff in snake_case, like the API). */
export function auditJson(a: AuditRow): z.infer<typeof AuditEntry> {
  return {
    object: 'audit_entry',
    id: a.id,
    actor: a.actor,
    action: a.action,
    target_type: a.targetType,
    target_id: a.targetId,
    changes: { before: apiFields(a.changes.before), after: apiFields(a.changes.after) },
    request_id: a.requestId,
    created_at: iso(a.createdAt),
  };
}

/** A credit grant as the admin API shows it (amounts in plan currency units, not micros). */
export function creditGrantJson(g: CreditGrantRow): z.infer<typeof CreditGrant> {
  return { object: 'credit_grant', id: g.id, customer_id: g.customerId, amount: g.amountMicros / 1_000_000, reason: g.reason, created_at: iso(g.createdAt) };
}

/** A recorded budget or credit alert. */
export function alertJson(e: AlertEventRow): z.infer<typeof AlertEvent> {
  return {
    object: 'alert',
    id: e.id,
    customer_id: e.customerId,
    kind: e.kind,
    threshold_percent: e.thresholdPercent,
    period_start: iso(e.periodStart),
    payload: JSON.parse(e.payload) as Record<string, unknown>,
    created_at: iso(e.createdAt),
  };
}

/** One alert webhook delivery and its attempts so far. */
export function deliveryJson(d: WebhookDeliveryRow): z.infer<typeof WebhookDelivery> {
  return {
    object: 'webhook_delivery',
    id: d.id,
    event_id: d.eventId,
    customer_id: d.customerId,
    url: d.url,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: isoOrNull(d.nextAttemptAt),
    last_status: d.lastStatus,
    last_error: d.lastError,
    delivered_at: isoOrNull(d.deliveredAt),
    created_at: iso(d.createdAt),
  };
}

/** A page as the admin API's list shape. */
export function listJson<T, J>(page: PageResult<T>, map: (item: T) => J): { object: 'list'; data: J[]; next_cursor: string | null } {
  return { object: 'list', data: page.items.map(map), next_cursor: page.nextCursor };
}
