import Stripe from 'stripe';
import { BillingApiError, type BillingClient, type EventSummary, type MeterEventInput, type MeterInfo } from './billing-client';

/** The Stripe API version Tollgate is written against (the SDK's own pin). */
export const STRIPE_API_VERSION = '2026-10-28.endive';

/** How to reach Stripe. `apiUrl` points at a Stripe-compatible server (tests, local runs). */
export interface StripeClientOptions {
  secretKey: string;
  apiUrl?: string;
  timeoutMs?: number;
  now?: () => number;
}

/** Refresh a meter event session this long before Stripe says it expires (sessions last 15 minutes). */
const SESSION_REFRESH_MARGIN_MS = 60_000;

function sdkConfig(options: StripeClientOptions): Stripe.StripeConfig {
  const config: Stripe.StripeConfig = { apiVersion: STRIPE_API_VERSION, maxNetworkRetries: 0, timeout: options.timeoutMs ?? 30_000 };
  if (options.apiUrl) {
    const url = new URL(options.apiUrl);
    config.host = url.hostname;
    config.protocol = url.protocol === 'http:' ? 'http' : 'https';
    config.port = Number(url.port || (url.protocol === 'http:' ? 80 : 443));
  }
  return config;
}

/** Turns whatever the SDK threw into a BillingApiError (Stripe's status, type, code and message). */
function wrap(error: unknown): BillingApiError {
  if (error instanceof BillingApiError) return error;
  if (error instanceof Stripe.errors.StripeError) {
    return new BillingApiError({
      status: error.statusCode ?? undefined,
      type: (error.rawType as string | undefined) ?? undefined,
      code: error.code ?? undefined,
      param: error.param ?? undefined,
      message: error.message || error.type,
    });
  }
  return new BillingApiError({ message: String((error as Error)?.message ?? error) });
}

function meterInfo(m: Stripe.Billing.Meter): MeterInfo {
  return {
    id: m.id,
    eventName: m.event_name,
    status: m.status,
    formula: m.default_aggregation.formula,
    customerPayloadKey: m.customer_mapping.event_payload_key,
    valuePayloadKey: m.value_settings.event_payload_key,
  };
}

const toSeconds = (ms: number) => Math.floor(ms / 1000);

/** A BillingClient on the official `stripe` SDK (pinned API version, no SDK retries: the sync backs off itself). */
export function createStripeBillingClient(options: StripeClientOptions): BillingClient {
  const config = sdkConfig(options);
  const stripe = new Stripe(options.secretKey, config);
  const now = options.now ?? Date.now;
  let calls = 0;
  type Session = { client: Stripe; expiresAt: number };
  // One session shared by every concurrent stream call; a renewal in progress is awaited, not repeated.
  let session: Promise<Session> | null = null;
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    calls++;
    try {
      return await fn();
    } catch (error) {
      throw wrap(error);
    }
  };
  const openSession = async (): Promise<Session> => {
    const created = await call(() => stripe.v2.billing.meterEventSession.create());
    const expires = created.expires_at as unknown;
    const expiresAt = typeof expires === 'number' ? expires * 1000 : Date.parse(String(expires));
    return { client: new Stripe(created.authentication_token, config), expiresAt };
  };
  const streamSession = async (): Promise<Session> => {
    const pending = session;
    const current = pending ? await pending.catch(() => null) : null;
    if (current && current.expiresAt - SESSION_REFRESH_MARGIN_MS > now()) return current;
    // Stale, failed or absent: the first caller to notice replaces it; the others share that renewal.
    if (session === pending) session = openSession();
    return session!;
  };
  return {
    listMeters: async () => {
      const meters: MeterInfo[] = [];
      await call(async () => {
        for await (const m of stripe.billing.meters.list({ limit: 100 })) meters.push(meterInfo(m));
      });
      return meters;
    },
    createMeter: async ({ eventName, displayName }) =>
      meterInfo(
        await call(() =>
          stripe.billing.meters.create({
            display_name: displayName,
            event_name: eventName,
            default_aggregation: { formula: 'sum' },
            customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
            value_settings: { event_payload_key: 'value' },
          }),
        ),
      ),
    createCustomer: async ({ tollgateCustomerId, name, email }) => {
      const customer = await call(() =>
        stripe.customers.create(
          { name, ...(email ? { email } : {}), metadata: { tollgate_customer_id: tollgateCustomerId } },
          { idempotencyKey: `tollgate-customer-${tollgateCustomerId}` },
        ),
      );
      return customer.id;
    },
    customerExists: async (id) => {
      try {
        const customer = await call(() => stripe.customers.retrieve(id));
        return !(customer as { deleted?: boolean }).deleted;
      } catch (error) {
        if ((error as BillingApiError).info?.status === 404) return false;
        throw error;
      }
    },
    sendMeterEvent: async (e: MeterEventInput) => {
      await call(() =>
        stripe.billing.meterEvents.create({
          event_name: e.eventName,
          identifier: e.identifier,
          timestamp: toSeconds(e.timestamp),
          payload: { stripe_customer_id: e.stripeCustomerId, value: String(e.value) },
        }),
      );
    },
    sendMeterEventStream: async (events: MeterEventInput[]) => {
      const active = await streamSession();
      const body = events.map((e) => ({
        event_name: e.eventName,
        identifier: e.identifier,
        timestamp: new Date(e.timestamp).toISOString(),
        payload: { stripe_customer_id: e.stripeCustomerId, value: String(e.value) },
      }));
      try {
        await call(() => active.client.v2.billing.meterEventStream.create({ events: body }));
      } catch (error) {
        // Expired early (Stripe's clock, or revoked): drop this session unless another call already replaced it.
        if ((error as BillingApiError).info?.type === 'temporary_session_expired' && session && (await session.catch(() => null)) === active) session = null;
        throw error;
      }
    },
    cancelMeterEvent: async (eventName, identifier) => {
      await call(() => stripe.billing.meterEventAdjustments.create({ event_name: eventName, type: 'cancel', cancel: { identifier } }));
    },
    eventSummaries: async ({ meterId, stripeCustomerId, start, end, grouping }) => {
      const out: EventSummary[] = [];
      await call(async () => {
        const list = stripe.billing.meters.listEventSummaries(meterId, {
          customer: stripeCustomerId,
          start_time: toSeconds(start),
          end_time: toSeconds(end),
          limit: 100,
          ...(grouping ? { value_grouping_window: grouping } : {}),
        });
        for await (const s of list) out.push({ start: s.start_time * 1000, end: s.end_time * 1000, value: s.aggregated_value });
      });
      return out;
    },
    callCount: () => calls,
  };
}
