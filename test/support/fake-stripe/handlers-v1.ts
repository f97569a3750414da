import type { FormValue } from './form';
import { ok, v1Error, type HandlerInput, type Reply } from './replies';
import { fakeId, type FakeStripeState } from './state';

const seconds = (state: FakeStripeState) => Math.floor(state.now() / 1000);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown) => (typeof v === 'object' && v !== null ? (v as Record<string, FormValue>) : {});

/** A page of a list, Stripe style (`limit`, `starting_after`). */
function page<T extends { id: string }>(items: T[], query: Record<string, unknown>, url: string): Reply {
  const limit = Math.min(100, Math.max(1, Number(query.limit ?? 10)));
  const after = str(query.starting_after);
  const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
  const data = items.slice(start, start + limit);
  return ok({ object: 'list', data, has_more: start + limit < items.length, url });
}

/** The v1 handlers of the contract, by operation (`METHOD /template`). */
export function v1Handlers(state: FakeStripeState): Record<string, (input: HandlerInput) => Reply> {
  const idempotent = new Map<string, Reply>();
  return {
    'POST /v1/customers': ({ body, headers }) => {
      const key = str(headers['idempotency-key']);
      if (key && idempotent.has(key)) return idempotent.get(key)!;
      const customer = { id: fakeId('cus'), name: str(body.name) ?? null, email: str(body.email) ?? null, metadata: obj(body.metadata) as Record<string, string>, created: seconds(state) };
      state.customers.set(customer.id, customer);
      const reply = ok({ ...customer, object: 'customer', livemode: false });
      if (key) idempotent.set(key, reply);
      return reply;
    },
    'GET /v1/customers/{customer}': ({ params }) => {
      const c = state.customers.get(params.customer);
      if (!c) return v1Error(404, 'invalid_request_error', `No such customer: '${params.customer}'`, { code: 'resource_missing', param: 'id' });
      return ok({ ...c, object: 'customer', livemode: false });
    },
    'GET /v1/billing/meters': ({ query }) => {
      const status = str(query.status);
      return page([...state.meters.values()].filter((m) => !status || m.status === status), query, '/v1/billing/meters');
    },
    'POST /v1/billing/meters': ({ body }) => {
      const eventName = str(body.event_name)!;
      if (state.activeMeter(eventName)) {
        return v1Error(400, 'invalid_request_error', `An active meter with event_name ${eventName} already exists.`, { param: 'event_name' });
      }
      const mapping = obj(body.customer_mapping);
      const valueSettings = obj(body.value_settings);
      const meter = {
        id: fakeId('mtr'),
        object: 'billing.meter' as const,
        created: seconds(state),
        updated: seconds(state),
        display_name: str(body.display_name)!,
        event_name: eventName,
        event_time_window: (str(body.event_time_window) as 'day' | 'hour' | undefined) ?? null,
        livemode: false as const,
        status: 'active' as const,
        status_transitions: { deactivated_at: null },
        default_aggregation: { formula: str(obj(body.default_aggregation).formula)! },
        customer_mapping: { event_payload_key: str(mapping.event_payload_key) ?? 'stripe_customer_id', type: 'by_id' as const },
        value_settings: { event_payload_key: str(valueSettings.event_payload_key) ?? 'value' },
      };
      state.meters.set(meter.id, meter);
      return ok(meter);
    },
    'POST /v1/billing/meter_events': ({ body }) => {
      const event = { event_name: str(body.event_name)!, identifier: str(body.identifier), payload: obj(body.payload) as Record<string, string>, timestampS: body.timestamp === undefined ? seconds(state) : Number(body.timestamp) };
      const refusal = state.refusal(event);
      if (refusal) {
        const code = refusal.code === 'resource_missing' ? 'resource_missing' : refusal.code === 'duplicate_meter_event' ? undefined : 'parameter_invalid';
        return v1Error(400, 'invalid_request_error', refusal.message, { code, param: refusal.param });
      }
      const e = state.record(event);
      return ok({ object: 'billing.meter_event', created: Math.floor(e.createdMs / 1000), event_name: e.eventName, identifier: e.identifier, livemode: false, payload: event.payload, timestamp: e.timestamp });
    },
    'POST /v1/billing/meter_event_adjustments': ({ body }) => {
      const identifier = str(obj(body.cancel).identifier);
      if (!identifier) return v1Error(400, 'invalid_request_error', 'cancel[identifier] is required to cancel an event.', { code: 'parameter_missing', param: 'cancel[identifier]' });
      const refused = state.cancel(str(body.event_name)!, identifier);
      if (refused) return v1Error(400, 'invalid_request_error', refused, { param: 'cancel[identifier]' });
      return ok({ object: 'billing.meter_event_adjustment', event_name: str(body.event_name), livemode: false, status: 'complete', type: 'cancel', cancel: { identifier } });
    },
    'GET /v1/billing/meters/{id}/event_summaries': ({ params, query }) => summaries(state, params.id, query),
  };
}

/** Meter event summaries: one per grouping window that holds events, or one for the whole range. */
function summaries(state: FakeStripeState, meterId: string, query: Record<string, unknown>): Reply {
  const meter = state.meters.get(meterId);
  if (!meter) return v1Error(404, 'invalid_request_error', `No such billing meter: '${meterId}'`, { code: 'resource_missing', param: 'id' });
  const customer = str(query.customer)!;
  const start = Number(query.start_time);
  const end = Number(query.end_time);
  const grouping = str(query.value_grouping_window) as 'hour' | 'day' | undefined;
  const step = grouping === 'day' ? 86_400 : grouping === 'hour' ? 3_600 : 60;
  if (start % step !== 0 || end % step !== 0) {
    return v1Error(400, 'invalid_request_error', `start_time and end_time must be aligned with ${grouping ?? 'minute'} boundaries.`, { param: 'start_time' });
  }
  if (end <= start) return v1Error(400, 'invalid_request_error', 'end_time must be after start_time.', { param: 'end_time' });
  const windows: Array<[number, number]> = grouping ? [] : [[start, end]];
  for (let t = start; grouping && t < end; t += step) windows.push([t, t + step]);
  const items = windows
    .map(([s, e]) => ({ s, e, v: state.sum(meter.event_name, customer, s, e) }))
    .filter((w) => !grouping || w.v !== 0)
    .map((w) => ({ id: `mtrusg_${meterId}_${customer}_${w.s}`, object: 'billing.meter_event_summary', aggregated_value: w.v, start_time: w.s, end_time: w.e, livemode: false, meter: meterId }));
  return page(items, query, `/v1/billing/meters/${meterId}/event_summaries`);
}
