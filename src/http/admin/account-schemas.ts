import { z } from '@hono/zod-openapi';
import { Time } from './schemas';

/** A prepaid credit grant. */
export const CreditGrant = z
  .object({
    object: z.literal('credit_grant'),
    id: z.string(),
    customer_id: z.string(),
    amount: z.number().openapi({ description: 'in the plan currency; negative takes credit back' }),
    reason: z.string().nullable(),
    created_at: Time,
  })
  .openapi('CreditGrant');

/** A recorded budget or credit alert. */
export const AlertEvent = z
  .object({
    object: z.literal('alert'),
    id: z.string(),
    customer_id: z.string(),
    kind: z.enum(['budget', 'credits']),
    threshold_percent: z.number().int(),
    period_start: Time,
    payload: z.record(z.string(), z.unknown()).openapi({ description: 'the event as its webhook carries it' }),
    created_at: Time,
  })
  .openapi('AlertEvent');

/** One alert webhook delivery. */
export const WebhookDelivery = z
  .object({
    object: z.literal('webhook_delivery'),
    id: z.string(),
    event_id: z.string(),
    customer_id: z.string(),
    url: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    next_attempt_at: Time.nullable(),
    last_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    delivered_at: Time.nullable(),
    created_at: Time,
  })
  .openapi('WebhookDelivery');
