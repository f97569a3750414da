import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeForm } from './form';
import { FaultPlan, seededRandom, type Fault } from './faults';
import { v1Handlers } from './handlers-v1';
import { v2Handlers, type StreamDrop } from './handlers-v2';
import { v1Error, v2Error, type HandlerInput, type Reply } from './replies';
import type { Violation } from './schema-check';
import { StripeSpec } from './spec';
import { FakeStripeState } from './state';

import { FAKE_STRIPE_KEY } from './key';

export { FAKE_STRIPE_KEY };

/** One request the fake answered (or dropped). */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number | 'dropped' | 'hung';
}

/** A running fake Stripe: its URL, its data, and the levers tests pull. */
export interface FakeStripe {
  url: string;
  state: FakeStripeState;
  requests: LoggedRequest[];
  /** Requests refused because they broke the OpenAPI contract (each also answered 400). */
  contractRefusals: Array<{ operation: string; violations: Violation[] }>;
  /** 200 answers of the fake that broke the contract (must stay empty). */
  responseViolations: Array<{ operation: string; violations: Violation[] }>;
  /** Meter event calls refused with 429 because the same customer and meter already had a call in flight. */
  concurrencyRejections: number;
  /** Events the v2 stream accepted but dropped on validation. */
  streamDrops: StreamDrop[];
  faults: FaultPlan;
  inject(fault: Fault): void;
  /** Removes a meter event at Stripe (drift injection): it no longer counts, and its identifier is forgotten. */
  deleteEvent(identifier: string): boolean;
  /** Number of calls per path prefix. */
  count(pathPrefix: string): number;
  close(): Promise<void>;
}

const METER_EVENT_PATHS = new Set(['/v1/billing/meter_events', '/v2/billing/meter_events', '/v2/billing/meter_event_stream']);
const STREAM = '/v2/billing/meter_event_stream';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Customer × meter pairs a meter event call touches (Stripe allows one call in flight per pair). */
function lanesOf(path: string, body: Record<string, unknown>): string[] {
  const events = path === STREAM ? ((body.events as Array<Record<string, unknown>>) ?? []) : [body];
  return [...new Set(events.map((e) => `${(e.payload as Record<string, string> | undefined)?.stripe_customer_id}|${e.event_name}`))];
}

/**
 * Starts a stateful Stripe-compatible server on 127.0.0.1 for the `stripe` SDK (`host`/`port`/`protocol`).
 * Every request is checked against the OpenAPI subset; meter events follow Stripe's rules (identifier
 * dedup for 24 h, timestamps within 35 days / 5 minutes ahead, positive whole values, one call in flight
 * per customer and meter, else 429); summaries are computed from the events; faults fire on demand.
 */
export async function startFakeStripe(options: { secretKey?: string; latencyMs?: number; seed?: number } = {}): Promise<FakeStripe> {
  const key = options.secretKey ?? FAKE_STRIPE_KEY;
  const spec = StripeSpec.load();
  const state = new FakeStripeState();
  const streamDrops: StreamDrop[] = [];
  const handlers = { ...v1Handlers(state), ...v2Handlers(state, streamDrops) };
  const inflight = new Set<string>();
  const faults = new FaultPlan(seededRandom(options.seed ?? 1));
  const fake = { state, requests: [] as LoggedRequest[], contractRefusals: [], responseViolations: [], concurrencyRejections: 0, streamDrops, faults } as unknown as FakeStripe;

  const answer = (req: IncomingMessage, res: ServerResponse, reply: Reply) => {
    fake.requests.push({ method: req.method!, path: new URL(req.url!, 'http://x').pathname, status: reply.status });
    res.writeHead(reply.status, { 'content-type': 'application/json', 'request-id': `req_${Date.now()}` });
    res.end(JSON.stringify(reply.body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<Reply | null> => {
    const url = new URL(req.url!, 'http://fake');
    const path = url.pathname;
    const v2 = path.startsWith('/v2/');
    const raw = await readBody(req);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (path === STREAM) {
      const expires = bearer ? state.sessions.get(bearer) : undefined;
      if (expires === undefined || expires <= state.now()) {
        return { status: 401, body: { error: { type: 'temporary_session_expired', code: 'billing_meter_event_session_expired', message: 'The meter event session has expired; create a new session.', doc_url: 'https://docs.stripe.com/api/v2/billing-meter-stream' } } };
      }
    } else if (bearer !== key) {
      return v1Error(401, 'invalid_request_error', 'Invalid API Key provided.');
    }
    const found = spec.find(req.method!, path);
    if (!found) return v1Error(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${path}).`);
    let body: Record<string, unknown>;
    let query: Record<string, unknown>;
    try {
      query = decodeForm(url.search.slice(1));
      const type = req.headers['content-type'] ?? '';
      if (raw && v2 && !type.startsWith('application/json')) throw new Error('v2 bodies are JSON');
      if (raw && !v2 && !type.startsWith('application/x-www-form-urlencoded')) throw new Error('v1 bodies are form-encoded');
      body = raw ? (v2 ? JSON.parse(raw) : decodeForm(raw)) : {};
    } catch (error) {
      return v1Error(400, 'invalid_request_error', `Invalid request: ${(error as Error).message}`);
    }
    const violations = spec.checkRequest(found.op, query as never, body);
    if (violations.length) {
      fake.contractRefusals.push({ operation: found.op.id, violations });
      const [first] = violations;
      return v2 ? v2Error(400, 'invalid_request_error', first.code, first.message) : v1Error(400, 'invalid_request_error', first.message, { code: first.code, param: first.param });
    }
    const fault = faults.next(path);
    if (fault === 'error_500') return v1Error(500, 'api_error', 'An unknown error occurred (injected).');
    if (fault === 'rate_limit_429') return v1Error(429, 'invalid_request_error', 'Too many requests hit the API too quickly (injected).', { code: 'rate_limit' });
    if (fault === 'timeout') return null;
    const lanes = METER_EVENT_PATHS.has(path) ? lanesOf(path, body) : [];
    if (lanes.some((l) => inflight.has(l))) {
      fake.concurrencyRejections++;
      const message = 'Cannot create multiple meter events for the same customer and meter concurrently.';
      return v2 ? v2Error(429, 'rate_limit', 'too_many_concurrent_requests', message) : v1Error(429, 'invalid_request_error', message, { code: 'rate_limit' });
    }
    for (const l of lanes) inflight.add(l);
    try {
      if (lanes.length && options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      const input: HandlerInput = { params: found.params, query, body, headers: req.headers };
      const reply = handlers[found.op.id]?.(input) ?? v1Error(404, 'invalid_request_error', `The fake does not implement ${found.op.id}.`);
      if (reply.status === 200) {
        const bad = spec.checkResponse(found.op, reply.body);
        if (bad.length) fake.responseViolations.push({ operation: found.op.id, violations: bad });
      }
      if (fault === 'lost_response') {
        fake.requests.push({ method: req.method!, path, status: 'dropped' });
        res.socket?.destroy();
        return null;
      }
      return fault === 'applied_timeout' ? null : reply;
    } finally {
      for (const l of lanes) inflight.delete(l);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).then(
      (reply) => {
        if (reply) answer(req, res, reply);
        else if (!res.socket?.destroyed) fake.requests.push({ method: req.method!, path: req.url!, status: 'hung' });
      },
      (error) => answer(req, res, v1Error(500, 'api_error', `fake crashed: ${String(error)}`)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.inject = (fault) => faults.add(fault);
  fake.deleteEvent = (identifier) => {
    const e = state.events.find((x) => x.identifier === identifier && !x.deleted);
    if (e) e.deleted = true;
    return !!e;
  };
  fake.count = (prefix) => fake.requests.filter((r) => r.path.startsWith(prefix)).length;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
