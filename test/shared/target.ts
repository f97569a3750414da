import { hsToken } from './admin-token';

/** A ledger row as the store holds it (column names as in migrations/). */
export interface LedgerRow {
  id: string;
  key_id: string;
  customer_id: string;
  model: string;
  route: string;
  status: number;
  stream: number;
  prompt_tokens: number;
  completion_tokens: number;
  predictions: number;
  cost_micros: number;
  error_code: string | null;
  started_at: number;
  finished_at: number;
}

/**
 * One running Tollgate build the shared behaviour suite drives over HTTP: the Node build, the Workers build
 * inside workerd, or `wrangler dev`. Only portable code here: the suite runs in Node and in workerd.
 */
export interface Target {
  runtime: 'node' | 'workers' | 'wrangler-dev';
  /** A request to the gateway (`path` starts with `/`). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The test model backend's base URL. */
  backendUrl: string;
  /** A test model backend that streams slowly (a pause before each event). */
  slowBackendUrl: string;
  /** A backend URL that cannot be reached (its server drops every connection). */
  deadUrl: string;
  /** Empties storage before a test where the runtime's tests must (workerd); a no-op elsewhere. */
  reset(): Promise<void>;
  /** Every committed ledger row of a customer, oldest first, read from the runtime's durable record. */
  ledger?(customerId: string): Promise<LedgerRow[]>;
  /**
   * Runs SQL on the store directly, the way another process (Node: the CLI) or another isolate (Workers)
   * changes admin data — no cache of the gateway hears about it.
   */
  writeStore?(sql: string, ...params: unknown[]): Promise<void>;
}

/** An HTTP answer with its body parsed as JSON (or text when it is not JSON). */
export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

let unique = 0;
/** A name no other test (in any runtime run) uses. */
export const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++unique}`;

/** Admin API and keyed-call helpers over a target. */
export function clientOf(t: Target) {
  let token: Promise<string> | null = null;
  const admin = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
    answer(
      await t.fetch(path, {
        method,
        headers: { authorization: `Bearer ${await (token ??= hsToken())}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  const call = async (secret: string | null, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
    answer(
      await t.fetch(path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      }),
    );
  /** A streamed chat call: every SSE data payload the client received, in order. */
  const stream = async (secret: string, body: Record<string, unknown>): Promise<{ status: number; events: string[]; headers: Headers }> => {
    const res = await t.fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    const text = await res.text();
    const events = text
      .split('\n\n')
      .map((frame) => frame.trim())
      .filter((frame) => frame.startsWith('data: '))
      .map((frame) => frame.slice('data: '.length));
    return { status: res.status, events, headers: res.headers };
  };

  /** Creates the test models (`chat`, `infer`, `json`, `down`, `slow`) unless they exist. */
  const ensureModels = async () => {
    const models = [
      { name: 'chat', backends: [{ protocol: 'openai', url: `${t.backendUrl}/v1`, credential_env: 'BACKEND_TOKEN', timeout_ms: 5_000 }] },
      { name: 'infer', units: 'instances', backends: [{ protocol: 'kserve-v2', url: t.backendUrl, timeout_ms: 5_000 }] },
      { name: 'json', units: 'request', backends: [{ protocol: 'json', url: `${t.backendUrl}/predict`, timeout_ms: 5_000 }] },
      { name: 'down', units: 'request', backends: [{ protocol: 'json', url: t.deadUrl, timeout_ms: 2_000 }] },
      { name: 'slow', backends: [{ protocol: 'openai', url: `${t.slowBackendUrl}/v1`, timeout_ms: 5_000 }] },
    ];
    for (const model of models) {
      const created = await admin('POST', '/admin/v1/models', model);
      if (created.status !== 201 && created.status !== 409) throw new Error(`model ${model.name}: ${created.status} ${JSON.stringify(created.body)}`);
    }
  };

  /** A new customer (on `limits` as its plan, if given) with one key. */
  const customerWithKey = async (limits?: Record<string, unknown>, key: Record<string, unknown> = {}) => {
    let plan: string | undefined;
    if (limits) {
      plan = uniqueName('plan');
      const created = await admin('POST', '/admin/v1/plans', { name: plan, limits });
      if (created.status !== 201) throw new Error(`plan: ${created.status} ${JSON.stringify(created.body)}`);
    }
    const name = uniqueName('customer');
    const customer = await admin('POST', '/admin/v1/customers', { name, ...(plan ? { plan } : {}) });
    if (customer.status !== 201) throw new Error(`customer: ${customer.status} ${JSON.stringify(customer.body)}`);
    const created = await admin('POST', '/admin/v1/keys', { customer: name, ...key });
    if (created.status !== 201) throw new Error(`key: ${created.status} ${JSON.stringify(created.body)}`);
    return { customer: name, customerId: customer.body.id as string, plan, keyId: created.body.key.id as string, secret: created.body.secret as string };
  };

  return { admin, call, stream, ensureModels, customerWithKey };
}
