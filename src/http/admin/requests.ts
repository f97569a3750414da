import { z } from '@hono/zod-openapi';
import { PAGE_LIMITS } from '../../services/paging';
import { PlanLimits, PROTOCOLS, UNITS } from './schemas';

const name = z.string().trim().min(1).max(200);
const isoTime = z.iso.datetime({ offset: true }).openapi({ example: '2030-01-31T00:00:00Z' });
const duration = z.string().regex(/^(0|\d+(\.\d+)?(ms|s|m|h|d|w))$/, 'a duration like 30m, 24h or 0').openapi({ example: '24h' });
const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: 'integer', minimum: min, maximum: max });

/** `?cursor=&limit=` of every list. */
export const PageQuery = z.object({
  cursor: z.string().optional().openapi({ description: 'next_cursor of the previous page' }),
  limit: queryInt(1, PAGE_LIMITS.max).optional().openapi({ description: `page size (default ${PAGE_LIMITS.default})` }),
});

/** A path parameter with its description. */
export const pathParam = (param: string, description: string) =>
  z.object({ [param]: z.string().min(1).openapi({ param: { name: param, in: 'path' }, description, example: 'acme' }) });

/** `If-Match` on updates: the ETag of the version the change is based on. */
export const IfMatch = z.object({
  'if-match': z.string().openapi({ description: 'ETag from the GET this change is based on (or `*`). Required: a stale one answers 412.', example: '"vJUwrb3zDiDe8LbChJ70zuXquwG"' }),
});

const webhookUrl = z.url({ protocol: /^https?$/ }).nullable().optional().openapi({
  description: 'where budget and credit alerts are POSTed; the first URL set generates a signing secret, answered once',
});

/** Body of POST /customers. */
export const CustomerCreate = z.strictObject({
  name,
  email: z.email().nullable().optional(),
  plan: z.string().min(1).nullable().optional().openapi({ description: 'plan id or name' }),
  webhook_url: webhookUrl,
});

/** Body of PATCH /customers/{customer}; absent fields stay, null clears. */
export const CustomerUpdate = z.strictObject({
  name: name.optional(),
  email: z.email().nullable().optional(),
  plan: z.string().min(1).nullable().optional().openapi({ description: 'plan id or name; null takes the customer off its plan' }),
  status: z.enum(['active', 'suspended']).optional().openapi({ description: 'suspended customers\u2019 keys are refused' }),
  webhook_url: webhookUrl,
  rotate_webhook_secret: z.boolean().optional().openapi({ description: 'replace the webhook signing secret (answered once)' }),
});

/** Body of POST /customers/{customer}/credits. */
export const CreditGrantCreate = z.strictObject({
  amount: z.number().refine((v) => v !== 0, 'must not be zero').openapi({ description: 'in the plan currency; negative takes credit back', example: 25 }),
  reason: z.string().max(500).nullable().optional(),
});

const recentLimit = queryInt(1, 1000).optional().openapi({ description: 'at most this many, newest first (default 100)' });

/** Query of GET /alerts. */
export const AlertsQuery = z.object({ customer: z.string().optional().openapi({ description: 'customer id or name' }), limit: recentLimit });

/** Query of GET /webhook-deliveries. */
export const DeliveriesQuery = AlertsQuery.extend({ status: z.enum(['pending', 'delivered', 'failed']).optional() });

/** Query of GET /customers: a page and its filters. */
export const CustomersQuery = PageQuery.extend({
  status: z.enum(['active', 'suspended']).optional(),
  plan: z.string().optional().openapi({ description: 'plan id' }),
  email: z.string().optional(),
});

/** Body of POST /plans. */
export const PlanCreate = z.strictObject({ name, limits: PlanLimits.optional() });
/** Body of PATCH /plans/{plan}. */
export const PlanUpdate = z.strictObject({ name: name.optional(), limits: PlanLimits.optional() });

const allowedModels = z.array(z.string().min(1)).nullable().optional().openapi({ description: 'models the key may call; null or [] = all' });

/** Body of POST /keys. */
export const KeyCreate = z.strictObject({
  customer: z.string().min(1).openapi({ description: 'customer id or name', example: 'acme' }),
  name: z.string().max(200).nullable().optional(),
  environment: z.enum(['live', 'test']).optional().openapi({ description: 'tg_live_ (default) or tg_test_' }),
  allowed_models: allowedModels,
  expires_at: isoTime.nullable().optional(),
  limit_overrides: z.union([PlanLimits, z.null()]).optional(),
});

/** Body of PATCH /keys/{key}; absent fields stay, null clears. */
export const KeyUpdate = z.strictObject({
  name: z.string().max(200).nullable().optional(),
  expires_at: isoTime.nullable().optional().openapi({ description: 'a future time, or null for never' }),
  allowed_models: allowedModels,
  limit_overrides: z.union([PlanLimits, z.null()]).optional(),
});

/** Body of POST /keys/{key}/roll (optional). */
export const KeyRoll = z.strictObject({
  grace: duration.optional().openapi({ description: 'how long the old key keeps working (default 24h; 0 = retire now)' }),
});

/** Query of GET /keys: a page and its filters. */
export const KeysQuery = PageQuery.extend({
  customer: z.string().optional().openapi({ description: 'customer id or name' }),
  state: z.enum(['active', 'revoked', 'expired']).optional(),
  environment: z.enum(['live', 'test']).optional(),
});

const BackendInput = z
  .strictObject({
    protocol: z.enum(PROTOCOLS),
    url: z.url({ protocol: /^https?$/ }).openapi({ example: 'http://127.0.0.1:8788/v1' }),
    upstream_model: z.string().min(1).nullable().optional(),
    credential_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').nullable().optional(),
    timeout_ms: z.number().int().positive().optional(),
    weight: z.number().int().min(1).optional(),
    priority: z.number().int().optional(),
  })
  .openapi('BackendInput');

/** Body of POST /models. */
export const ModelCreate = z.strictObject({
  name: z.string().regex(/^[\w.:\-/]+$/, 'letters, digits and . _ : - /').openapi({ example: 'demo-chat' }),
  units: z.enum(UNITS).optional().openapi({ description: 'default: tokens for openai backends, else request' }),
  unit_header: z.string().min(1).optional(),
  backends: z.array(BackendInput).min(1),
});

/** Body of PATCH /models/{model}. */
export const ModelUpdate = z.strictObject({
  units: z.enum(UNITS).optional(),
  unit_header: z.string().min(1).nullable().optional(),
  backends: z.array(BackendInput).min(1).optional().openapi({ description: 'replaces every backend' }),
});

/** Query of GET /usage: filters, series interval and split. */
export const UsageQuery = z.object({
  customer: z.string().optional().openapi({ description: 'customer id or name' }),
  key: z.string().optional().openapi({ description: 'key id or prefix' }),
  model: z.string().optional(),
  status: z.string().regex(/^(success|error|[1-5]\d\d)$/, 'success, error or an HTTP status').optional(),
  from: z.string().optional().openapi({ description: 'YYYY-MM-DD or ISO time, inclusive (default: start of this month, UTC)' }),
  to: z.string().optional().openapi({ description: 'YYYY-MM-DD or ISO time, exclusive (default: now)' }),
  interval: z.enum(['hour', 'day', 'month']).optional().openapi({ description: 'series bucket (default day)' }),
  group_by: z
    .string()
    .regex(/^(customer|key|model)(,(customer|key|model))*$/, 'a comma list of customer, key, model')
    .optional()
    .openapi({ description: 'also split the series by these', example: 'model' }),
});

/** Query of GET /audit: a page and its filters. */
export const AuditQuery = PageQuery.extend({
  actor: z.string().optional(),
  action: z.string().optional().openapi({ example: 'key.revoke' }),
  target_type: z.enum(['customer', 'plan', 'key', 'model']).optional(),
  target_id: z.string().optional(),
  request_id: z.string().optional(),
  from: z.string().optional().openapi({ description: 'YYYY-MM-DD or ISO time, inclusive' }),
  to: z.string().optional().openapi({ description: 'YYYY-MM-DD or ISO time, exclusive' }),
});
