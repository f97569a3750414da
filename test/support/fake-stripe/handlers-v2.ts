import { randomBytes } from 'node:crypto';
import { ok, v2Error, type HandlerInput, type Reply } from './replies';
import { fakeId, type FakeStripeState } from './state';

/** Meter event sessions last 15 minutes. */
export const SESSION_MS = 15 * 60_000;

interface V2Event {
  event_name: string;
  identifier?: string;
  payload: Record<string, string>;
  timestamp?: string;
}

const toSeconds = (state: FakeStripeState, iso?: string) => Math.floor((iso ? Date.parse(iso) : state.now()) / 1000);

/** Events the stream accepted but dropped on asynchronous validation (Stripe reports these out of band). */
export interface StreamDrop {
  identifier?: string;
  code: string;
  message: string;
}

/** The v2 handlers of the contract; `drops` collects what the stream's asynchronous validation refused. */
export function v2Handlers(state: FakeStripeState, drops: StreamDrop[]): Record<string, (input: HandlerInput) => Reply> {
  return {
    'POST /v2/billing/meter_event_session': () => {
      const token = `ek_test_${randomBytes(18).toString('base64url')}`;
      const expiresAt = state.now() + SESSION_MS;
      state.sessions.set(token, expiresAt);
      return ok({
        id: fakeId('mes'),
        object: 'v2.billing.meter_event_session',
        authentication_token: token,
        created: new Date(state.now()).toISOString(),
        expires_at: new Date(expiresAt).toISOString(),
        livemode: false,
      });
    },
    'POST /v2/billing/meter_event_stream': ({ body }) => {
      // Stream events are validated asynchronously: the call succeeds, refused events are dropped, and
      // a repeated identifier is silently ignored (deduplicated).
      for (const e of body.events as V2Event[]) {
        const event = { ...e, timestampS: toSeconds(state, e.timestamp) };
        const refusal = state.refusal(event);
        if (!refusal) state.record(event);
        else if (refusal.code !== 'duplicate_meter_event') drops.push({ identifier: e.identifier, code: refusal.code, message: refusal.message });
      }
      return ok({});
    },
    'POST /v2/billing/meter_events': ({ body }) => {
      const e = body as unknown as V2Event;
      const event = { ...e, timestampS: toSeconds(state, e.timestamp) };
      const refusal = state.refusal(event);
      if (refusal) return v2Error(400, 'invalid_request_error', refusal.code === 'resource_missing' ? 'payload_invalid_value' : refusal.code, refusal.message);
      const r = state.record(event);
      return ok({
        object: 'v2.billing.meter_event',
        created: new Date(r.createdMs).toISOString(),
        event_name: r.eventName,
        identifier: r.identifier,
        livemode: false,
        payload: e.payload,
        timestamp: new Date(r.timestamp * 1000).toISOString(),
      });
    },
  };
}
