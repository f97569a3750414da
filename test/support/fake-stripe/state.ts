import { randomBytes } from 'node:crypto';

const DAY_S = 86_400;
/** Stripe remembers a meter event identifier this long (the fake: exactly 24 hours, the documented minimum). */
export const DEDUP_WINDOW_MS = 24 * 3_600_000;

/** A meter as the fake keeps it (already in Stripe's response shape). */
export interface FakeMeter {
  id: string;
  object: 'billing.meter';
  created: number;
  updated: number;
  display_name: string;
  event_name: string;
  event_time_window: 'day' | 'hour' | null;
  livemode: false;
  status: 'active' | 'inactive';
  status_transitions: { deactivated_at: number | null };
  default_aggregation: { formula: string };
  customer_mapping: { event_payload_key: string; type: 'by_id' };
  value_settings: { event_payload_key: string };
}

/** One meter event Stripe accepted. Times: `timestamp` in seconds (as sent), `createdMs` on the fake's clock. */
export interface FakeEvent {
  identifier: string;
  eventName: string;
  customer: string;
  value: number;
  timestamp: number;
  createdMs: number;
  canceled: boolean;
  /** Removed by a test to inject drift; no longer counted or remembered. */
  deleted: boolean;
}

/** Why Stripe refuses an event, in v2's vocabulary (the v1 handler maps it to v1's shape). */
export interface EventRefusal {
  code: 'no_meter' | 'payload_no_customer_defined' | 'payload_no_value_defined' | 'payload_invalid_value' | 'resource_missing' | 'timestamp_out_of_range' | 'duplicate_meter_event';
  param: string;
  message: string;
}

/** A random Stripe-looking id. */
export const fakeId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

/** The fake's data: customers, meters, meter events (with Stripe's rules), sessions, and a movable clock. */
export class FakeStripeState {
  readonly customers = new Map<string, { id: string; name: string | null; email: string | null; metadata: Record<string, string>; created: number }>();
  readonly meters = new Map<string, FakeMeter>();
  readonly events: FakeEvent[] = [];
  readonly sessions = new Map<string, number>();
  private readonly byIdentifier = new Map<string, FakeEvent>();
  private offsetMs = 0;

  /** The fake's clock (epoch ms): real time plus whatever `advance` added. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves the fake's clock forward (dedup windows, the 35-day limit, session expiry). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }

  activeMeter(eventName: string): FakeMeter | undefined {
    return [...this.meters.values()].find((m) => m.event_name === eventName && m.status === 'active');
  }

  /** Stripe's checks for one meter event; null when it would be accepted. */
  refusal(e: { event_name: string; identifier?: string; payload: Record<string, string>; timestampS: number }): EventRefusal | null {
    const meter = this.activeMeter(e.event_name);
    if (!meter) return { code: 'no_meter', param: 'event_name', message: `No active meter was found matching event_name ${e.event_name}.` };
    const customerKey = meter.customer_mapping.event_payload_key;
    const valueKey = meter.value_settings.event_payload_key;
    const customer = e.payload[customerKey];
    if (!customer) return { code: 'payload_no_customer_defined', param: `payload[${customerKey}]`, message: `Payload is missing ${customerKey}.` };
    if (!this.customers.has(customer)) return { code: 'resource_missing', param: `payload[${customerKey}]`, message: `No such customer: '${customer}'` };
    const value = e.payload[valueKey];
    if (value === undefined) return { code: 'payload_no_value_defined', param: `payload[${valueKey}]`, message: `Payload is missing ${valueKey}.` };
    if (!/^\d+$/.test(value) || Number(value) <= 0) {
      return { code: 'payload_invalid_value', param: `payload[${valueKey}]`, message: `Value must be a positive whole number, got '${value}'.` };
    }
    const nowS = Math.floor(this.now() / 1000);
    if (e.timestampS < nowS - 35 * DAY_S || e.timestampS > nowS + 300) {
      return { code: 'timestamp_out_of_range', param: 'timestamp', message: 'Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.' };
    }
    if (e.identifier && this.remembered(e.identifier)) {
      return { code: 'duplicate_meter_event', param: 'identifier', message: `An event already exists with identifier ${e.identifier}.` };
    }
    return null;
  }

  /** Records an accepted event (call `refusal` first). */
  record(e: { event_name: string; identifier?: string; payload: Record<string, string>; timestampS: number }): FakeEvent {
    const meter = this.activeMeter(e.event_name)!;
    const event: FakeEvent = {
      identifier: e.identifier ?? fakeId('evt'),
      eventName: e.event_name,
      customer: e.payload[meter.customer_mapping.event_payload_key],
      value: Number(e.payload[meter.value_settings.event_payload_key]),
      timestamp: e.timestampS,
      createdMs: this.now(),
      canceled: false,
      deleted: false,
    };
    this.events.push(event);
    this.byIdentifier.set(event.identifier, event);
    return event;
  }

  /** The live event holding `identifier` within the dedup window, if any. */
  remembered(identifier: string): FakeEvent | undefined {
    const e = this.byIdentifier.get(identifier);
    return e && !e.deleted && this.now() - e.createdMs < DEDUP_WINDOW_MS ? e : undefined;
  }

  /** Cancels an event; Stripe allows it only within 24 hours of receiving it. */
  cancel(eventName: string, identifier: string): string | null {
    const e = this.byIdentifier.get(identifier);
    if (!e || e.deleted || e.eventName !== eventName) return `No meter event with identifier ${identifier} was found.`;
    if (e.canceled) return `The meter event with identifier ${identifier} is already canceled.`;
    if (this.now() - e.createdMs >= DEDUP_WINDOW_MS) return 'Meter events can only be canceled within 24 hours of being received.';
    e.canceled = true;
    return null;
  }

  /** Sum of counted events of a meter for a customer with `timestamp` in [startS, endS). */
  sum(eventName: string, customer: string, startS: number, endS: number): number {
    let total = 0;
    for (const e of this.events) {
      if (!e.canceled && !e.deleted && e.eventName === eventName && e.customer === customer && e.timestamp >= startS && e.timestamp < endS) total += e.value;
    }
    return total;
  }

  /** Every counted total, keyed `customer|event_name`. */
  totals(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.events) {
      if (e.canceled || e.deleted) continue;
      const key = `${e.customer}|${e.eventName}`;
      out.set(key, (out.get(key) ?? 0) + e.value);
    }
    return out;
  }
}
