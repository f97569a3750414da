import type { Db } from '../../db/types';
import type { BucketSize } from '../../domain/billing/time';
import type { ChangeWatch } from '../change-watch';
import type { BillingClient } from './billing-client';

/** How billing behaves; from configuration (src/config.ts), overridable in tests. */
export interface BillingSettings {
  /** Aggregation bucket for outbox rows (one meter event per customer × meter × bucket). */
  bucket: BucketSize;
  /** A run with at least this many rows to send uses the v2 meter event stream instead of v1 calls. */
  streamMin: number;
  /** How long after a failed invoice payment the customer's keys are suspended. */
  paymentGraceMs: number;
  /** Webhook signature tolerance, seconds. */
  webhookToleranceSec: number;
  /** Backoff for 429/5xx/timeouts: full jitter from `retryBaseMs` doubling up to `retryMaxMs`, `maxTries` per run. */
  retryBaseMs: number;
  retryMaxMs: number;
  maxTries: number;
  /** Parallel calls (each on distinct customer × meter pairs). */
  concurrency: number;
  /** How long delivered events may take to show in Stripe's (eventually consistent) summaries. */
  summaryLagMs: number;
}

/** Defaults matching src/config.ts. */
export const DEFAULT_BILLING_SETTINGS: BillingSettings = {
  bucket: 'hour',
  streamMin: 1000,
  paymentGraceMs: 3 * 86_400_000,
  webhookToleranceSec: 300,
  retryBaseMs: 250,
  retryMaxMs: 15_000,
  maxTries: 8,
  concurrency: 8,
  summaryLagMs: 3_600_000,
};

/** What billing use cases need. `client` is null when Stripe is not configured (no STRIPE_SECRET_KEY). */
export interface BillingDeps {
  db: Db;
  now(): number;
  client: BillingClient | null;
  settings: BillingSettings;
  log(level: 'info' | 'error', message: string, fields?: Record<string, unknown>): void;
  /** Tells key caches that a customer's status or plan changed. */
  changes?: ChangeWatch;
  /** Waits between retries; tests may shorten it. */
  sleep?(ms: number): Promise<void>;
}

/** What the HTTP layer needs for billing (on `Deps.billing`); absent when billing is not wired. */
export interface BillingRuntime {
  deps: BillingDeps;
  /** STRIPE_WEBHOOK_SECRET; without it `/webhooks/stripe` answers 503. */
  webhookSecret: string | null;
}
