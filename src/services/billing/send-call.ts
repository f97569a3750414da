import { backoffDelay, classifyStripeFailure, failureReason } from '../../domain/billing/stripe-failure';
import { BillingApiError } from './billing-client';
import type { BillingDeps } from './billing-deps';

/** How one call to Stripe ended, after its retries. */
export type CallOutcome =
  | { kind: 'delivered'; duplicate: boolean }
  | { kind: 'park'; reason: string }
  | { kind: 'defer'; reason: string };

/** Stripe refused the API key: nothing can succeed, so the run stops and every row stays queued. */
export class FatalBillingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FatalBillingError';
  }
}

/** Counters the sender keeps across calls. */
export interface CallStats {
  calls: number;
  retries: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one Stripe call with the sync's retry policy: 429, 409, 5xx and no-answer back off with full
 * jitter (the SDK does not retry a plain 429, and its own retries are off) and resend the same body, so
 * the same identifier; "already exists" means delivered; an expired stream session is renewed at once;
 * any other 4xx parks; after `maxTries` the row is deferred to a later run.
 */
export async function callWithRetry(deps: BillingDeps, stats: CallStats, send: () => Promise<void>, shouldStop: () => boolean = () => false): Promise<CallOutcome> {
  const sleep = deps.sleep ?? defaultSleep;
  const { retryBaseMs, retryMaxMs, maxTries } = deps.settings;
  let sessionRenewals = 0;
  let lastReason = 'not attempted';
  for (let attempt = 0; attempt < maxTries; ) {
    stats.calls++;
    try {
      await send();
      return { kind: 'delivered', duplicate: false };
    } catch (error) {
      if (!(error instanceof BillingApiError)) throw error;
      lastReason = failureReason(error.info);
      const action = classifyStripeFailure(error.info);
      if (action === 'duplicate') return { kind: 'delivered', duplicate: true };
      if (action === 'park') return { kind: 'park', reason: lastReason };
      if (action === 'fatal') throw new FatalBillingError(`Stripe refused the API key (${lastReason}); check STRIPE_SECRET_KEY.`);
      if (action === 'session_expired' && sessionRenewals++ < 2) continue;
      attempt++;
      stats.retries++;
      if (attempt >= maxTries || shouldStop()) break;
      await sleep(backoffDelay(attempt - 1, retryBaseMs, retryMaxMs));
    }
  }
  return { kind: 'defer', reason: lastReason };
}
