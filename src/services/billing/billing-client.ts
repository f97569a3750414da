import type { StripeFailureInfo } from '../../domain/billing/stripe-failure';

/** A Stripe Billing Meter as the sync needs it. */
export interface MeterInfo {
  id: string;
  eventName: string;
  status: string;
  formula: string;
  customerPayloadKey: string;
  valuePayloadKey: string;
}

/** One meter event to send. Times are epoch ms. */
export interface MeterEventInput {
  eventName: string;
  identifier: string;
  stripeCustomerId: string;
  value: number;
  timestamp: number;
}

/** One meter event summary: Stripe's total for a customer and meter in [start, end). */
export interface EventSummary {
  start: number;
  end: number;
  value: number;
}

/** A failed billing call, with what Stripe said (or that it said nothing). */
export class BillingApiError extends Error {
  constructor(readonly info: StripeFailureInfo) {
    super(info.message);
    this.name = 'BillingApiError';
  }
}

/**
 * Every side effect billing has on Stripe. Methods throw BillingApiError on failure; they never retry
 * (the sync decides). The Stripe SDK implementation is stripe-billing-client.ts; tests drive it against a
 * Stripe-compatible server, and a Workers build can reuse it with the fetch HTTP client.
 */
export interface BillingClient {
  listMeters(): Promise<MeterInfo[]>;
  createMeter(input: { eventName: string; displayName: string }): Promise<MeterInfo>;
  /** Creates a Stripe customer; the idempotency key is derived from the Tollgate customer id. */
  createCustomer(input: { tollgateCustomerId: string; name: string; email: string | null }): Promise<string>;
  /** Whether a Stripe customer exists (not deleted). */
  customerExists(stripeCustomerId: string): Promise<boolean>;
  /** v1 `POST /v1/billing/meter_events`: one event, validated synchronously. */
  sendMeterEvent(event: MeterEventInput): Promise<void>;
  /** v2 meter event stream: up to 100 events per call, on a session token refreshed before it expires. */
  sendMeterEventStream(events: MeterEventInput[]): Promise<void>;
  /** Cancels one event by identifier (Stripe allows it within 24 hours of the event). */
  cancelMeterEvent(eventName: string, identifier: string): Promise<void>;
  /** Meter event summaries for a customer, one per `grouping` window, or one for the whole range. */
  eventSummaries(query: { meterId: string; stripeCustomerId: string; start: number; end: number; grouping?: 'hour' | 'day' }): Promise<EventSummary[]>;
  /** HTTP calls made so far (for reports and the benchmark). */
  callCount(): number;
}
