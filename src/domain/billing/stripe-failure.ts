/** What a failed Stripe call looks like, whichever client made it. */
export interface StripeFailureInfo {
  /** HTTP status; undefined when no answer came (connection error, timeout). */
  status?: number;
  type?: string;
  code?: string;
  param?: string;
  message: string;
}

/**
 * What the sync does about a failure:
 * - `duplicate`: Stripe already holds this identifier — the event was delivered;
 * - `retry`: 429, 409, 5xx or no answer — back off with jitter and send again (same identifier);
 * - `session_expired`: the v2 stream's session token ran out — open a new session and resend;
 * - `fatal`: the API key is refused — nothing will succeed, stop the run and keep every row;
 * - `park`: any other 4xx will never succeed for this row — set it aside with the reason.
 */
export type FailureAction = 'duplicate' | 'retry' | 'session_expired' | 'fatal' | 'park';

const DUPLICATE = /already exists with identifier|duplicate_meter_event/i;

/** Classifies a Stripe failure. */
export function classifyStripeFailure(f: StripeFailureInfo): FailureAction {
  if (f.code === 'duplicate_meter_event' || DUPLICATE.test(f.message)) return 'duplicate';
  if (f.status === undefined || f.status === 429 || f.status === 409 || f.status >= 500) return 'retry';
  if (f.type === 'temporary_session_expired' || f.code === 'billing_meter_event_session_expired') return 'session_expired';
  if (f.status === 401 || f.status === 403) return 'fatal';
  return 'park';
}

/** A one-line reason for a failure, as stored on the outbox row. */
export function failureReason(f: StripeFailureInfo): string {
  const head = f.status === undefined ? 'no response' : `${f.status}${f.code ? ` ${f.code}` : f.type ? ` ${f.type}` : ''}`;
  return `${head}: ${f.message}`.slice(0, 500);
}

/** Full-jitter exponential backoff: a random delay in [0, min(max, base·2^attempt)], at least 10 ms. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(10, Math.floor(random() * ceiling));
}
