import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { addModel } from '../src/services/models.service';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chatBody, closedPort, keyed, postJson, sleep } from './support/http';

let gw: TestGateway;
let limited: TestGateway;
let secret: string;
let limitedSecret: string;

beforeAll(async () => {
  [gw, limited] = await Promise.all([
    startTestGateway(),
    startTestGateway({ TOLLGATE_MAX_BODY_BYTES: '1000', TOLLGATE_MAX_HEADER_BYTES: '2048' }),
  ]);
  const down = `http://127.0.0.1:${await closedPort()}`;
  await addModel(gw.gateway.deps, { name: 'down-chat', backends: [{ protocol: 'openai', url: `${down}/v1`, timeoutMs: 2_000 }] });
  await addModel(gw.gateway.deps, { name: 'down-json', backends: [{ protocol: 'json', url: `${down}/predict`, timeoutMs: 2_000 }] });
  secret = (await gw.customerWithKey()).secret;
  limitedSecret = (await limited.customerWithKey()).secret;
});
afterAll(() => Promise.all([gw.stop(), limited.stop()]));
afterEach(() => {
  gw.backend.setFault({ kind: 'none' });
  limited.backend.setFault({ kind: 'none' });
});

/** What the backend received for one gateway request id. */
function backendSaw(server: TestGateway, requestId: string | null) {
  const seen = server.backend.requests.filter((r) => r.headers['x-request-id'] === requestId);
  expect(seen).toHaveLength(1);
  return seen[0];
}

async function expectOpenAIError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  const body = await res.json();
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
  return body.error;
}

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = await res.json();
  expect(body).toEqual({
    type: `urn:tollgate:error:${code}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
    request_id: res.headers.get('x-request-id'),
    ...(body.param !== undefined ? { param: body.param } : {}),
  });
  expect(body.request_id).toMatch(/^req_/);
  return body;
}

/** A raw HTTP/1.1 request, so framing and hop-by-hop headers are visible as sent on the wire. */
function rawPost(base: string, path: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; headers: string[][]; body: string }>((resolve, reject) => {
    const url = new URL(base);
    const req = request({ host: url.hostname, port: url.port, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        const pairs: string[][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
        resolve({ status: res.statusCode ?? 0, headers: pairs, body: text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('what crosses the gateway', () => {
  test('the backend gets the backend credential and the request id, never the client’s key or hop-by-hop headers', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', cookie: 'session=1', 'x-client-tag': 'kept' },
      body: JSON.stringify(chatBody('hello')),
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^req_/);
    const seen = backendSaw(gw, requestId);
    expect(seen.path).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe('Bearer backend-secret');
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-client-tag']).toBe('kept');
    expect(JSON.stringify(seen.headers)).not.toContain(secret);
  });

  test('a Bearer client key is replaced by the backend credential', async () => {
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'));
    expect(res.status).toBe(200);
    const seen = backendSaw(gw, res.headers.get('x-request-id'));
    expect(seen.headers.authorization).toBe('Bearer backend-secret');
    expect(JSON.stringify(seen.headers)).not.toContain(secret);
  });

  test('a backend without a credential gets no authorization header at all', async () => {
    const res = await postJson(gw.url, '/v1/models/json/predict', secret, { x: 1 });
    expect(res.status).toBe(200);
    expect(backendSaw(gw, res.headers.get('x-request-id')).headers.authorization).toBeUndefined();
  });

  test('headers the client lists in Connection are not forwarded', async () => {
    const res = await rawPost(
      gw.url,
      '/v1/chat/completions',
      { ...keyed(secret), connection: 'close, x-hop', 'x-hop': 'private', te: 'trailers' },
      JSON.stringify(chatBody('hello')),
    );
    expect(res.status).toBe(200);
    const requestId = res.headers.find(([name]) => name === 'x-request-id')?.[1] ?? null;
    const seen = backendSaw(gw, requestId);
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
  });

  test.each([
    ['JSON', chatBody('hello')],
    ['SSE', chatBody('hello', { stream: true })],
  ])('a %s answer carries no x-ratelimit-* or backend hop-by-hop headers', async (_kind, body) => {
    // With "connection: close" the gateway's own server sends no keep-alive header, so any that
    // appears was copied from the backend (which answers its keep-alive pool with one).
    const res = await rawPost(gw.url, '/v1/chat/completions', { ...keyed(secret), connection: 'close' }, JSON.stringify(body));
    expect(res.status).toBe(200);
    const names = res.headers.map(([name]) => name);
    expect(names.filter((n) => n.startsWith('x-ratelimit-'))).toEqual([]);
    expect(names).not.toContain('keep-alive');
    expect(res.headers.filter(([n]) => n === 'connection')).toEqual([['connection', 'close']]);
    expect(names.filter((n) => n === 'transfer-encoding' || n === 'content-length')).toHaveLength(1);
    const requestId = res.headers.find(([n]) => n === 'x-request-id')?.[1] ?? null;
    expect(backendSaw(gw, requestId).headers['x-request-id']).toBe(requestId);
  });
});

describe('size limits', () => {
  const bigChat = chatBody('word '.repeat(400));

  test('an oversized chat body is 413 in OpenAI shape', async () => {
    const before = limited.backend.requests.length;
    const res = await postJson(limited.url, '/v1/chat/completions', limitedSecret, bigChat);
    const error = await expectOpenAIError(res, 413, 'request_too_large');
    expect(error.type).toBe('invalid_request_error');
    expect(limited.backend.requests.length).toBe(before);
  });

  test('a chat body just under the limit is served', async () => {
    const res = await postJson(limited.url, '/v1/chat/completions', limitedSecret, chatBody('word '.repeat(150)));
    expect(res.status).toBe(200);
  });

  test('an oversized predict body with a declared length is 413 problem+json', async () => {
    const res = await postJson(limited.url, '/v1/models/json/predict', limitedSecret, { instances: Array.from({ length: 400 }, (_, i) => i) });
    await expectProblem(res, 413, 'request_too_large');
  });

  test('an oversized chunked predict body (no declared length) is 413 problem+json', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ instances: Array.from({ length: 400 }, (_, i) => i) }));
    const res = await fetch(`${limited.url}/v1/models/json/predict`, {
      method: 'POST',
      headers: keyed(limitedSecret),
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 256) controller.enqueue(bytes.slice(at, at + 256));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    await expectProblem(res, 413, 'request_too_large');
  });

  test('oversized request headers are 431 with a problem+json body', async () => {
    const res = await fetch(`${limited.url}/v1/models/json/predict`, {
      method: 'POST',
      headers: keyed(limitedSecret, { 'x-padding': 'a'.repeat(4_000) }),
      body: '{}',
    });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = await res.json();
    expect(body).toMatchObject({ status: 431, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  });
});

describe('backend failures', () => {
  test('a backend nobody listens on is 502 upstream_unavailable', async () => {
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello', { model: 'down-chat' }));
    const error = await expectOpenAIError(res, 502, 'upstream_unavailable');
    expect(error.type).toBe('server_error');
    await expectProblem(await postJson(gw.url, '/v1/models/down-json/predict', secret, {}), 502, 'upstream_unavailable');
  });

  test('a backend that never answers is 504 upstream_timeout after the backend timeout', async () => {
    gw.backend.setFault({ kind: 'hang' });
    const started = Date.now();
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'));
    await expectOpenAIError(res, 504, 'upstream_timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });

  test('a backend 500 is 502 upstream_error', async () => {
    gw.backend.setFault({ kind: 'status', status: 500 });
    const error = await expectOpenAIError(await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello')), 502, 'upstream_error');
    expect(error.message).not.toContain('injected fault');
    await expectProblem(await postJson(gw.url, '/v2/models/infer/infer', secret, { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] }), 502, 'upstream_error');
  });

  test('a backend 5xx raises no uncaught exception in the gateway process', async () => {
    // In production an uncaught exception kills the process, and with it every call in flight.
    const uncaught: unknown[] = [];
    const listener = (error: unknown) => void uncaught.push(error);
    process.on('uncaughtException', listener);
    try {
      gw.backend.setFault({ kind: 'status', status: 503 });
      expect((await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'))).status).toBe(502);
      await sleep(50); // the stream's error event is emitted on a later turn
    } finally {
      process.off('uncaughtException', listener);
    }
    expect(uncaught.map(String)).toEqual([]);
  });

  test('a backend 400 is passed through as 400 with the backend’s body', async () => {
    gw.backend.setFault({ kind: 'status', status: 400 });
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'));
    expect(res.status).toBe(400);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const body = await res.json();
    expect(body.error.message).toBe('injected fault: status 400');
  });

  test('a backend that resets the connection is 502 upstream_unavailable', async () => {
    gw.backend.setFault({ kind: 'reset' });
    await expectOpenAIError(await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello')), 502, 'upstream_unavailable');
  });
});

describe('bad requests', () => {
  test('an unknown model is 404 model_not_found', async () => {
    const error = await expectOpenAIError(await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello', { model: 'no-such-model' })), 404, 'model_not_found');
    expect(error.param).toBe('model');
    await expectProblem(await postJson(gw.url, '/v1/models/no-such-model/predict', secret, {}), 404, 'model_not_found');
    await expectProblem(await postJson(gw.url, '/v2/models/no-such-model/infer', secret, {}), 404, 'model_not_found');
  });

  test('a body that is not JSON is 400 invalid_request', async () => {
    const error = await expectOpenAIError(await postJson(gw.url, '/v1/chat/completions', secret, '{"model": "chat",'), 400, 'invalid_request');
    expect(error.type).toBe('invalid_request_error');
    await expectProblem(await postJson(gw.url, '/v2/models/infer/infer', secret, 'not json'), 400, 'invalid_request');
  });

  test('a JSON body that is not an object, or names no model, is 400 invalid_request', async () => {
    await expectOpenAIError(await postJson(gw.url, '/v1/chat/completions', secret, '[1,2]'), 400, 'invalid_request');
    const error = await expectOpenAIError(await postJson(gw.url, '/v1/chat/completions', secret, { messages: [] }), 400, 'invalid_request');
    expect(error.param).toBe('model');
  });

  test('a model whose protocol cannot serve the route is 400 invalid_request', async () => {
    await expectOpenAIError(await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello', { model: 'tf' })), 400, 'invalid_request');
  });

  test('an unknown route is 404 problem+json with the request id', async () => {
    const res = await fetch(`${gw.url}/v1/nothing-here`, { headers: keyed(secret) });
    await expectProblem(res, 404, 'not_found');
  });
});
