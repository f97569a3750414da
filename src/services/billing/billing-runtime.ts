import type { Config } from '../../config';
import type { Db } from '../../db/types';
import { billingSettings } from './billing-config';
import type { BillingDeps, BillingRuntime } from './billing-deps';
import { createStripeBillingClient } from './stripe-billing-client';
import type { ChangeWatch } from '../change-watch';

/** What billing borrows from the gateway's deps. */
export interface BillingBase {
  db: Db;
  now(): number;
  changes?: ChangeWatch;
  log: BillingDeps['log'];
}

/** Billing deps from configuration: a Stripe SDK client when STRIPE_SECRET_KEY is set, else none. */
export function buildBillingDeps(config: Config, base: BillingBase): BillingDeps {
  const client = config.STRIPE_SECRET_KEY
    ? createStripeBillingClient({ secretKey: config.STRIPE_SECRET_KEY, apiUrl: config.STRIPE_API_URL, timeoutMs: config.TOLLGATE_STRIPE_TIMEOUT, now: base.now })
    : null;
  return { db: base.db, now: base.now, changes: base.changes, log: base.log, client, settings: billingSettings(config) };
}

/** What the HTTP app needs for billing (webhooks), on either runtime. */
export function buildBillingRuntime(config: Config, base: BillingBase): BillingRuntime {
  return { deps: buildBillingDeps(config, base), webhookSecret: config.STRIPE_WEBHOOK_SECRET ?? null };
}
