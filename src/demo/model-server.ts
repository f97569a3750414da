// Deterministic fake model backend (OpenAI, KServe v2, TF Serving, plain JSON
// predict) over node:http, with injectable faults; demo and test upstream.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  chatPromptTokens, completionFor, countTokens, embeddingFor, isRecord,
  lastUserText, maxTokensOf, numberFor, type Completion,
} from './tokens';

/** A fault to inject into every request except GET /healthz. */
export interface Fault {
  kind: 'none' | 'status' | 'hang' | 'reset' | 'slow-stream' | 'drop-mid-stream';
  status?: number;
  delayMs?: number;
}

/** A running fake model server. */
export interface ModelServer {
  url: string;
  port: number;
  close(): Promise<void>;
  setFault(f: Fault): void;
  requests: Array<{ method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string }>;
}

const CREATED = 1_700_000_000;
const DEFAULT_MODEL = 'demo-echo-1';
const MODEL_IDS = ['demo-echo-1', 'gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'];
const DROP_AFTER_EVENTS = 3;

type Json = Record<string, unknown>;
interface Ctx { req: IncomingMessage; res: ServerResponse; body: Json; params: string[]; fault: Fault; nextId: () => number }
interface Route { method: string; pattern: RegExp; handler: (ctx: Ctx) => void | Promise<void> }
interface SseEvent { data: unknown; content: boolean }

/** Builds an OpenAI-style error body. */
export function openaiError(message: string, type = 'invalid_request_error', code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const gone = (res: ServerResponse) => res.destroyed || res.writableEnded || !!res.socket?.destroyed;

/** Waits ms, returning early if the connection closes. */
function sleep(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); res.off('close', done); resolve(); };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

/** Writes one chunk and waits until it is flushed to the socket (or the connection closes). */
function write(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { res.off('close', done); resolve(); };
    res.once('close', done);
    res.write(chunk, done);
  });
}

/** Streams SSE events, applying slow-stream and drop-mid-stream faults, then `data: [DONE]`. */
async function streamSse(ctx: Ctx, events: SseEvent[]): Promise<void> {
  const { res, fault: { kind, delayMs } } = ctx;
  const delay = kind === 'slow-stream' ? delayMs ?? 50 : 0;
  const drop = kind === 'drop-mid-stream';
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let contentSent = 0;
  const frames = [...events, { data: '[DONE]', content: false }];
  for (const [i, ev] of frames.entries()) {
    if (drop && !ev.content) { res.socket?.destroy(); return; }
    if (delay > 0 && i > 0) await sleep(delay, res);
    if (gone(res)) return;
    await write(res, `data: ${typeof ev.data === 'string' ? ev.data : JSON.stringify(ev.data)}\n\n`);
    if (ev.content && ++contentSent >= DROP_AFTER_EVENTS && drop) { res.socket?.destroy(); return; }
  }
  res.end();
}

function usageOf(promptTokens: number, completionTokens: number) {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** SSE events of a completion stream: content chunks, finish chunks, then the usage chunk if asked for. */
function streamEvents(base: Json, body: Json, content: unknown[], finish: unknown[], usage: unknown): SseEvent[] {
  const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
  const event = (choice: unknown, isContent: boolean): SseEvent =>
    ({ content: isContent, data: { ...base, choices: [choice], ...(includeUsage ? { usage: null } : {}) } });
  const events = [...content.map((c) => event(c, true)), ...finish.map((c) => event(c, false))];
  if (includeUsage) events.push({ content: false, data: { ...base, choices: [], usage } });
  return events;
}

function chatCompletions(ctx: Ctx): Promise<void> | void {
  const { body } = ctx;
  if (!Array.isArray(body.messages)) return sendJson(ctx.res, 400, openaiError("'messages' is required"));
  const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
  const c = completionFor(lastUserText(body.messages), maxTokensOf(body));
  const details = { prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };
  const usage = { ...usageOf(chatPromptTokens(body.messages), c.completionTokens), ...details };
  const id = `chatcmpl-${ctx.nextId()}`;
  if (body.stream !== true) {
    const choice = { index: 0, message: { role: 'assistant', content: c.text }, logprobs: null, finish_reason: c.finishReason };
    return sendJson(ctx.res, 200, { id, object: 'chat.completion', created: CREATED, model, choices: [choice], usage });
  }
  const content = c.pieces.map((piece, i) =>
    ({ index: 0, delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece }, logprobs: null, finish_reason: null }));
  const finish = [{ index: 0, delta: {}, logprobs: null, finish_reason: c.finishReason }];
  const base = { id, object: 'chat.completion.chunk', created: CREATED, model };
  return streamSse(ctx, streamEvents(base, body, content, finish, usage));
}

function legacyCompletions(ctx: Ctx): Promise<void> | void {
  const { body } = ctx;
  const prompts = Array.isArray(body.prompt) ? body.prompt.map(String) : [typeof body.prompt === 'string' ? body.prompt : ''];
  const model = typeof body.model === 'string' ? body.model : DEFAULT_MODEL;
  const results: Completion[] = prompts.map((p) => completionFor(p, maxTokensOf(body)));
  const promptTokens = prompts.reduce((n, p) => n + countTokens(p), 0);
  const usage = usageOf(promptTokens, results.reduce((n, c) => n + c.completionTokens, 0));
  const base = { id: `cmpl-${ctx.nextId()}`, object: 'text_completion', created: CREATED, model };
  const finish = results.map((c, index) => ({ text: c.text, index, logprobs: null, finish_reason: c.finishReason }));
  if (body.stream !== true) return sendJson(ctx.res, 200, { ...base, choices: finish, usage });
  const content = results.flatMap((c, index) =>
    c.pieces.map((text) => ({ text, index, logprobs: null, finish_reason: null })));
  for (const f of finish) f.text = '';
  return streamSse(ctx, streamEvents(base, body, content, finish, usage));
}

function embeddings({ body, res }: Ctx): void {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const texts = inputs.map((x) => (typeof x === 'string' ? x : JSON.stringify(x ?? '')));
  const data = texts.map((t, index) => ({ object: 'embedding', index, embedding: embeddingFor(t) }));
  const tokens = texts.reduce((n, t) => n + countTokens(t), 0);
  const model = typeof body.model === 'string' ? body.model : 'text-embedding-3-small';
  sendJson(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

function listModels({ res }: Ctx): void {
  const data = MODEL_IDS.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'tollgate-demo' }));
  sendJson(res, 200, { object: 'list', data });
}

function kserveInfer({ body, res, params }: Ctx): void {
  const first = Array.isArray(body.inputs) ? body.inputs[0] : undefined;
  if (!isRecord(first)) return sendJson(res, 400, { error: "request must contain a non-empty 'inputs' array" });
  const batch = Array.isArray(first.shape) ? Number(first.shape[0]) : NaN;
  if (!Number.isInteger(batch) || batch < 0) return sendJson(res, 400, { error: "inputs[0].shape[0] must be the batch size" });
  const data = Array.from({ length: batch }, (_, i) => numberFor(`${JSON.stringify(first.data ?? null)}#${i}`));
  const outputs = [{ name: 'output-0', shape: [batch, 1], datatype: 'FP32', data }];
  const id = typeof body.id === 'string' ? { id: body.id } : {};
  sendJson(res, 200, { model_name: decodeURIComponent(params[0]), ...id, outputs });
}

function tfPredict({ body, res }: Ctx): void {
  const { instances, inputs } = body;
  const column = isRecord(inputs) ? Object.values(inputs)[0] : undefined; // columnar format: one row per entry
  const rows = Array.isArray(instances) ? instances : Array.isArray(inputs) ? inputs
    : Array.isArray(column) ? column : isRecord(inputs) ? [inputs] : undefined;
  if (!rows) return sendJson(res, 400, { error: "request must contain 'instances' or 'inputs'" });
  const predictions = rows.map((r) => numberFor(JSON.stringify(r)));
  sendJson(res, 200, { predictions }, { 'x-units': String(rows.length) });
}

function plainPredict({ body, res }: Ctx): void {
  const units = Array.isArray(body.instances) ? body.instances.length : 1;
  sendJson(res, 200, { prediction: numberFor(JSON.stringify(body)), received_keys: Object.keys(body) },
    { 'x-units': String(units) });
}

const ROUTES: Route[] = [
  { method: 'POST', pattern: /^\/v1\/chat\/completions$/, handler: chatCompletions },
  { method: 'POST', pattern: /^\/v1\/completions$/, handler: legacyCompletions },
  { method: 'POST', pattern: /^\/v1\/embeddings$/, handler: embeddings },
  { method: 'GET', pattern: /^\/v1\/models$/, handler: listModels },
  { method: 'POST', pattern: /^\/v2\/models\/([^/]+)\/infer$/, handler: kserveInfer },
  { method: 'POST', pattern: /^\/v1\/models\/([^/:]+):predict$/, handler: tfPredict },
  { method: 'POST', pattern: /^\/v1\/models\/([^/]+)\/predict$/, handler: plainPredict },
  { method: 'POST', pattern: /^\/predict$/, handler: plainPredict },
];

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the fake model server; port 0 (the default) picks an ephemeral port. */
export async function startModelServer(opts: { port?: number; host?: string; record?: boolean } = {}): Promise<ModelServer> {
  const host = opts.host ?? '127.0.0.1';
  const requests: ModelServer['requests'] = [];
  let fault: Fault = { kind: 'none' };
  let counter = 0;
  const nextId = () => ++counter;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    const raw = await readBody(req);
    if (opts.record) requests.push({ method, path, headers: { ...req.headers }, body: raw });
    res.setHeader('x-ratelimit-limit-requests', '1000');
    res.setHeader('x-ratelimit-remaining-requests', '999');
    const { 'x-request-id': rid, authorization } = req.headers;
    if (rid !== undefined) res.setHeader('x-upstream-saw-request-id', rid);
    if (authorization !== undefined) res.setHeader('x-upstream-saw-authorization', authorization);
    const delay = Number(req.headers['x-test-delay-ms']);
    if (delay > 0) await sleep(delay, res);
    if (gone(res)) return;
    if (method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      return void res.end('ok');
    }
    const f = fault;
    if (f.kind === 'status') {
      const status = f.status ?? 500;
      const type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
      return sendJson(res, status, openaiError(`injected fault: status ${status}`, type));
    }
    if (f.kind === 'hang') return; // never answer; close() tears the socket down
    if (f.kind === 'reset') return void req.socket.destroy();

    const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
    if (!route) return sendJson(res, 404, openaiError('not found'));
    let body: Json = {};
    if (method === 'POST') {
      let parsed: unknown;
      try { parsed = JSON.parse(raw); } catch { return sendJson(res, 400, openaiError('invalid JSON body')); }
      if (!isRecord(parsed)) return sendJson(res, 400, openaiError('request body must be a JSON object'));
      body = parsed;
    }
    if (f.kind === 'drop-mid-stream' && body.stream !== true) return void req.socket.destroy();
    const params = route.pattern.exec(path)!.slice(1);
    await route.handler({ req, res, body, params, fault: f, nextId });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !gone(res)) sendJson(res, 500, openaiError(String(err), 'server_error'));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(opts.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests,
    setFault(f: Fault) { fault = { ...f }; },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startModelServer({ port: Number(process.env.PORT ?? 8788) });
  console.log(`model server listening on ${server.url}`);
}
