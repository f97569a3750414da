import { Hono } from 'hono';
import Stripe from 'stripe';
import type { AppEnv } from '../../context';
import { ServiceError } from '../../domain/errors';
import { handleStripeEvent, type StripeEventLike } from '../../services/billing/webhook.service';
import { readBody } from '../body';

/** Stripe events are small; anything larger is not from Stripe. */
const MAX_WEBHOOK_BYTES = 1024 * 1024;

/**
 * `POST /webhooks/stripe`: verifies `Stripe-Signature` over the raw body with STRIPE_WEBHOOK_SECRET and
 * the tolerance window, then applies the event once per id. No API key: the signature is the credential.
 */
export const stripeWebhookRoutes = new Hono<AppEnv>().post('/webhooks/stripe', async (c) => {
  const billing = c.var.deps.billing;
  if (!billing?.webhookSecret) throw new ServiceError('billing_not_configured', 'Stripe webhooks are off: set STRIPE_WEBHOOK_SECRET.');
  const signature = c.req.header('stripe-signature');
  if (!signature) throw new ServiceError('invalid_signature', 'The Stripe-Signature header is missing.', 'stripe-signature');
  const raw = new TextDecoder().decode(await readBody(c.req.raw, MAX_WEBHOOK_BYTES));
  let event: StripeEventLike;
  try {
    event = (await Stripe.webhooks.constructEventAsync(raw, signature, billing.webhookSecret, billing.deps.settings.webhookToleranceSec)) as unknown as StripeEventLike;
  } catch {
    throw new ServiceError('invalid_signature', 'The Stripe-Signature does not match the body and secret, or its timestamp is outside the tolerance window.', 'stripe-signature');
  }
  const result = await handleStripeEvent(billing.deps, event);
  return c.json({ received: true, id: event.id, ...result });
});
