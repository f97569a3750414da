import { z } from '@hono/zod-openapi';
import { PlanLimitsSchema } from '../../domain/plan-limits';

/** Times in the admin API: ISO 8601, UTC. */
export const Time = z.string().openapi({ format: 'date-time', example: '2030-01-31T00:00:00.000Z' });

/**
 * A plan's limits document (also a key's limit overrides). Cloned because `.openapi()` exists only on zod
 * schemas built after @hono/zod-openapi loaded, and the domain schema may well be built before.
 */
export const PlanLimits = PlanLimitsSchema.clone().openapi('PlanLimits', { description: 'Limits a plan sets; every part is optional (`{}` = unlimited).' });

/** RFC 9457 problem details, as every admin error answers. */
export const Problem = z
  .object({
    type: z.string().openapi({ example: 'urn:tollgate:error:not_found' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'Stable error code from the error catalogue.' }),
    request_id: z.string(),
    param: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional().openapi({ description: 'Every offending field of a validation failure.' }),
  })
  .openapi('Problem');

/** A customer as answered (never its webhook secret, except once when made). */
export const Customer = z
  .object({
    object: z.literal('customer'),
    id: z.string(),
    name: z.string(),
    email: z.string().nullable(),
    plan_id: z.string().nullable(),
    status: z.enum(['active', 'suspended']),
    stripe_customer_id: z.string().nullable(),
    webhook_url: z.string().nullable().openapi({ description: 'where budget and credit alerts are POSTed (HMAC-signed)' }),
    webhook_secret: z.string().optional().openapi({ description: 'the webhook signing secret: only in the answer that created it, never again' }),
    created_at: Time,
  })
  .openapi('Customer');

/** A plan as answered. */
export const Plan = z.object({ object: z.literal('plan'), id: z.string(), name: z.string(), limits: PlanLimits, created_at: Time }).openapi('Plan');

/** A key as answered: never its secret or hash. */
export const Key = z
  .object({
    object: z.literal('key'),
    id: z.string(),
    customer_id: z.string(),
    name: z.string().nullable(),
    display_prefix: z.string().openapi({ example: 'tg_live_AbCd' }),
    environment: z.enum(['live', 'test']),
    state: z.enum(['active', 'revoked', 'expired']),
    allowed_models: z.array(z.string()).nullable().openapi({ description: 'null = every model' }),
    limit_overrides: z.union([PlanLimits, z.null()]),
    expires_at: Time.nullable(),
    revoked_at: Time.nullable(),
    rolled_to: z.string().nullable(),
    created_at: Time,
  })
  .openapi('Key');

/** A new key and its secret, the only time the secret is shown. */
export const CreatedKey = z
  .object({ key: Key, secret: z.string().openapi({ description: 'The key itself. Shown here once; only its hash is stored.' }) })
  .openapi('CreatedKey');

/** A rolled key: the successor with its secret, and the old key with its new expiry. */
export const RolledKey = z.object({ key: Key, secret: z.string(), previous: Key }).openapi('RolledKey');

const PROTOCOLS = ['openai', 'kserve-v2', 'tfserving', 'json'] as const;
const UNITS = ['tokens', 'request', 'instances', 'header'] as const;

/** One backend of a model. */
export const Backend = z
  .object({
    id: z.string(),
    protocol: z.enum(PROTOCOLS),
    url: z.string(),
    upstream_model: z.string().nullable(),
    credential_env: z.string().nullable(),
    timeout_ms: z.number().int(),
    weight: z.number().int(),
    priority: z.number().int(),
  })
  .openapi('Backend');

/** A model with its backends. */
export const Model = z
  .object({
    object: z.literal('model'),
    id: z.string(),
    name: z.string(),
    units: z.enum(UNITS),
    unit_header: z.string().nullable(),
    created_at: Time,
    backends: z.array(Backend),
  })
  .openapi('Model');

/** One audit log row. */
export const AuditEntry = z
  .object({
    object: z.literal('audit_entry'),
    id: z.string(),
    actor: z.string().openapi({ description: 'JWT `sub`, `cli:<os user>` or `system`.' }),
    action: z.string().openapi({ example: 'key.revoke' }),
    target_type: z.string(),
    target_id: z.string(),
    changes: z.object({
      before: z.record(z.string(), z.unknown()).nullable(),
      after: z.record(z.string(), z.unknown()).nullable(),
    }),
    request_id: z.string().nullable(),
    created_at: Time,
  })
  .openapi('AuditEntry');

const counts = {
  requests: z.number().int(),
  errors: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  reasoning_tokens: z.number().int(),
  predictions: z.number().int(),
  estimated: z.number().int(),
};

/** Usage totals and a time series. */
export const UsageReport = z
  .object({
    object: z.literal('usage_report'),
    from: Time,
    to: Time,
    interval: z.enum(['hour', 'day', 'month']),
    group_by: z.array(z.enum(['customer', 'key', 'model'])),
    totals: z.object(counts),
    series: z.array(
      z.object({
        bucket: z.string().openapi({ description: 'Start of the UTC bucket: 2030-01-31T13:00:00Z, 2030-01-31 or 2030-01.' }),
        customer_id: z.string().optional(),
        key_id: z.string().optional(),
        model: z.string().optional(),
        ...counts,
      }),
    ),
  })
  .openapi('UsageReport');

/** A page of a list and the cursor of the next page (null on the last). */
export const listOf = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ object: z.literal('list'), data: z.array(item), next_cursor: z.string().nullable() }).openapi(name);

/** Backend protocols and metering units, as the services accept them. */
export { PROTOCOLS, UNITS };
