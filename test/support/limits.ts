import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config';
import type { Deps } from '../../src/context';
import { startModelServer, type ModelServer } from '../../src/demo/model-server';
import { startGateway, type RunningGateway } from '../../src/entry/node';
import { createCustomer } from '../../src/services/customers.service';
import { createKey, type KeyOptions } from '../../src/services/keys.service';
import type { MemoryLimits } from '../../src/services/limits/engine';
import { addModel } from '../../src/services/models.service';
import { createPlan } from '../../src/services/plans.service';
import { sleep } from './http';

/**
 * A gateway whose SQLite file and model backend outlive it: `restart()` stops the gateway (draining it)
 * and starts a fresh process-equivalent on the same file — empty memory, the same ledger.
 */
export interface RestartableGateway {
  readonly url: string;
  readonly dbPath: string;
  readonly backend: ModelServer;
  readonly gateway: RunningGateway;
  readonly deps: Deps;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a gateway on a new temp SQLite file with the models `chat` (openai) and `infer` (kserve-v2, instances). */
export async function startRestartableGateway(env: Record<string, string> = {}): Promise<RestartableGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-limits-'));
  const dbPath = join(dir, 'tollgate.db');
  const backend = await startModelServer({ record: true });
  const start = async () => {
    const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', TOLLGATE_DB: dbPath, TOLLGATE_DEMO: 'off', TOLLGATE_LOG: 'silent', ...env });
    return startGateway(config, { ...env });
  };
  let gateway = await start();
  await addModel(gateway.deps, { name: 'chat', backends: [{ protocol: 'openai', url: `${backend.url}/v1`, timeoutMs: 5_000 }] });
  await addModel(gateway.deps, { name: 'infer', units: 'instances', backends: [{ protocol: 'kserve-v2', url: backend.url, timeoutMs: 5_000 }] });
  return {
    get url() {
      return gateway.url;
    },
    dbPath,
    backend,
    get gateway() {
      return gateway;
    },
    get deps() {
      return gateway.deps;
    },
    async restart() {
      await gateway.stop();
      gateway = await start();
    },
    async stop() {
      await gateway.stop();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let plans = 0;

/** A plan with `limits`, a customer on it and one key (each test gets its own). */
export async function keyOnPlan(
  deps: Deps,
  limits: Record<string, unknown>,
  options: { key?: KeyOptions; webhookUrl?: string } = {},
): Promise<{ secret: string; keyId: string; customerId: string; planId: string; planName: string }> {
  const name = `plan-${process.pid}-${++plans}`;
  const plan = await createPlan(deps, { name, limits });
  const customer = await createCustomer(deps, { name: `customer-of-${name}`, plan: plan.id, webhookUrl: options.webhookUrl });
  const { secret, key } = await createKey(deps, customer.id, options.key);
  return { secret, keyId: key.id, customerId: customer.id, planId: plan.id, planName: name };
}

/** Another key of the same customer. */
export async function secondKey(deps: Deps, customerId: string, options: KeyOptions = {}): Promise<{ secret: string; keyId: string }> {
  const { secret, key } = await createKey(deps, customerId, options);
  return { secret, keyId: key.id };
}

/**
 * A chat body whose reservation is exact: the gateway estimates ceil(len(JSON of messages) / 4) = 9 prompt
 * tokens plus max_tokens 1; the backend counts 6 punctuation tokens + 3 per message = 9, and answers 1.
 */
export const EXACT_CHAT = { model: 'chat', max_tokens: 1, messages: [{ role: 'user', content: '!!!!!!' }] };

/** POSTs a chat completion (EXACT_CHAT unless `body` is given) with the key. */
export function chat(url: string, secret: string, body: Record<string, unknown> = EXACT_CHAT, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** One limit of GET /v1/usage. */
export interface LimitJson {
  name: string;
  kind: string;
  scope: 'key' | 'customer';
  unit: string;
  limit: number | null;
  used: number;
  reserved: number;
  remaining: number | null;
  resets_at: string | null;
  mode?: 'hard' | 'soft';
  overage?: number;
}

/** The caller's limits from GET /v1/usage, by `name` (and `name@scope` for every entry). */
export async function usageLimits(url: string, secret: string): Promise<Record<string, LimitJson>> {
  const res = await fetch(`${url}/v1/usage`, { headers: { authorization: `Bearer ${secret}` } });
  if (res.status !== 200) throw new Error(`GET /v1/usage answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { limits: LimitJson[] };
  const out: Record<string, LimitJson> = {};
  for (const l of body.limits) {
    out[l.name] ??= l;
    out[`${l.name}@${l.scope}`] = l;
  }
  return out;
}

/** The OpenAI error code of a response (or the problem+json code). */
export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { error?: { code?: string }; code?: string };
  return body.error?.code ?? body.code;
}

/**
 * Waits until a fresh fixed window of `windowMs` starts if less than `neededMs` of the current one is
 * left, so a burst that must land in one window does; windows are aligned to the epoch like the engine's.
 */
export async function roomInWindow(windowMs: number, neededMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < neededMs) await sleep(left + 5);
}

/** Waits for the start of the next whole second (+5 ms), so a burst lands inside one 1 s window. */
export async function nextSecond(): Promise<void> {
  await sleep(1_000 - (Date.now() % 1_000) + 5);
}

/** The in-memory limits engine of a running gateway (for its eviction hook). */
export const engineOf = (deps: Deps) => deps.limiter as MemoryLimits;

/** Runs a read-only query on the gateway's SQLite file. */
export function query<T>(dbPath: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Runs a write on the gateway's SQLite file from another connection (as another process would). */
export function execute(dbPath: string, sql: string, ...params: unknown[]): void {
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** One request a webhook receiver got. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A webhook receiver on 127.0.0.1 that answers each request with `status()` and records it. */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** The status the next request gets (default 200). */
  status: () => number;
  close(): Promise<void>;
}

/** Starts a webhook receiver; `status` decides each answer (given the number of requests so far, 1-based). */
export async function startReceiver(status: (n: number) => number = () => 200): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.writeHead(status(received.length), { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks/tollgate`,
    received,
    status: () => status(received.length + 1),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
