import { claimDelivery, dueDeliveries, finishAttempt, type AttemptOutcome, type DueDelivery } from '../../db/repos/alerts.repo';
import type { Db } from '../../db/types';
import { signWebhook } from './webhook-signature';

/** Sends one webhook POST; resolves with the receiver's status, rejects on network failure or timeout. */
export type WebhookPost = (url: string, body: string, headers: Record<string, string>, timeoutMs: number) => Promise<{ status: number }>;

/** How deliveries are retried. */
export interface WebhookPolicy {
  /** First retry delay; later ones are multiples of it (see BACKOFF_STEPS). */
  retryBaseMs: number;
  /** Attempts before a delivery is marked failed. */
  maxAttempts: number;
  /** How long one attempt may take. */
  timeoutMs: number;
}

/** Retry delays as multiples of the base: with 10 s, 10 s, 30 s, 2 min, 5 min, 10 min, 30 min, then hourly. */
export const BACKOFF_STEPS = [1, 3, 12, 30, 60, 180, 360];

/** The delay before retry number `attempts` (1 = after the first failure), with ±20 % jitter. */
export function retryDelay(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const step = BACKOFF_STEPS[Math.min(attempts, BACKOFF_STEPS.length) - 1];
  return Math.round(step * baseMs * (0.8 + 0.4 * random()));
}

/** What delivering needs. */
export interface WebhookDeps {
  db: Db;
  now(): number;
  post: WebhookPost;
  log(level: 'info' | 'error', message: string, fields?: Record<string, unknown>): void;
}

/**
 * Attempts every due delivery once: signs the stored payload with the customer's current webhook secret,
 * POSTs it, and records the outcome — delivered on 2xx, else retried with backoff until `maxAttempts`,
 * then failed. `stopping()` true means the process is draining: an attempt cut short by it is not counted.
 */
export async function deliverDueWebhooks(deps: WebhookDeps, policy: WebhookPolicy, stopping: () => boolean = () => false): Promise<number> {
  const due = await dueDeliveries(deps.db, deps.now(), 50);
  const results = await Promise.all(due.map((d) => attemptDelivery(deps, policy, d, stopping)));
  return results.filter(Boolean).length;
}

async function attemptDelivery(deps: WebhookDeps, policy: WebhookPolicy, due: DueDelivery, stopping: () => boolean): Promise<boolean> {
  const { delivery } = due;
  const started = deps.now();
  // The lease outlives the attempt; if the process dies mid-attempt the delivery is retried after it.
  if (!(await claimDelivery(deps.db, delivery, started + policy.timeoutMs + 5_000))) return false;
  const attempts = delivery.attempts + 1;
  let status: number | null = null;
  let error: string | null = null;
  if (!due.secret) {
    error = 'the customer has no webhook secret';
  } else {
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Tollgate-Webhooks/1',
      'tollgate-event-id': delivery.eventId,
      'tollgate-signature': signWebhook(due.secret, due.payload, Math.floor(started / 1000)),
    };
    try {
      status = (await deps.post(delivery.url, due.payload, headers, policy.timeoutMs)).status;
      if (status < 200 || status > 299) error = `the receiver answered ${status}`;
    } catch (failure) {
      if (stopping()) {
        await finishAttempt(deps.db, delivery.id, { ...unchanged(delivery), nextAttemptAt: deps.now() });
        return false;
      }
      error = String((failure as Error)?.message ?? failure);
    }
  }
  const now = deps.now();
  const outcome: AttemptOutcome =
    error === null
      ? { status: 'delivered', attempts, nextAttemptAt: null, lastStatus: status, lastError: null, deliveredAt: now }
      : attempts >= policy.maxAttempts || !due.secret
        ? { status: 'failed', attempts, nextAttemptAt: null, lastStatus: status, lastError: error, deliveredAt: null }
        : { status: 'pending', attempts, nextAttemptAt: now + retryDelay(attempts, policy.retryBaseMs), lastStatus: status, lastError: error, deliveredAt: null };
  await finishAttempt(deps.db, delivery.id, outcome);
  if (outcome.status === 'failed') deps.log('error', 'webhook delivery failed', { deliveryId: delivery.id, eventId: delivery.eventId, attempts, error });
  return outcome.status === 'delivered';
}

const unchanged = (d: DueDelivery['delivery']): AttemptOutcome => ({
  status: d.status, attempts: d.attempts, nextAttemptAt: d.nextAttemptAt, lastStatus: d.lastStatus, lastError: d.lastError, deliveredAt: d.deliveredAt,
});
