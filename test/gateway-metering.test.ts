import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { addModel } from '../src/services/models.service';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chatBody, closedPort, LedgerReader, postJson, readEvents, sseData } from './support/http';

let gw: TestGateway;
let ledger: LedgerReader;

beforeAll(async () => {
  gw = await startTestGateway();
  ledger = new LedgerReader(gw.dbPath);
  await addModel(gw.gateway.deps, { name: 'down-chat', backends: [{ protocol: 'openai', url: `http://127.0.0.1:${await closedPort()}/v1`, timeoutMs: 2_000 }] });
});
afterAll(async () => {
  ledger.close();
  await gw.stop();
});
afterEach(() => gw.backend.setFault({ kind: 'none' }));

const requestIdOf = (res: Response) => {
  const id = res.headers.get('x-request-id');
  expect(id).toMatch(/^req_/);
  return id!;
};

/** The body the backend received for a gateway request id, parsed. */
const backendBody = (requestId: string) => {
  const seen = gw.backend.requests.filter((r) => r.headers['x-request-id'] === requestId);
  expect(seen).toHaveLength(1);
  return JSON.parse(seen[0].body);
};

// The demo backend is deterministic: 3 words + 3 per message = 6 prompt tokens; the reply
// "Echo: hello there friend" is 5 tokens (Echo, :, hello, there, friend).
const PROMPT = 'hello there friend';
const PROMPT_TOKENS = 6;
const COMPLETION_TOKENS = 5;
// A prompt of 13 words is echoed back as "Echo:" + its first 12 words: 14 tokens, one SSE event each.
const LONG_PROMPT = 'one two three four five six seven eight nine ten eleven twelve thirteen';
const LONG_COMPLETION_TOKENS = 14;

describe('OpenAI calls', () => {
  test('a chat completion writes one row with exactly the usage the backend reported', async () => {
    const { customerId, keyId, secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT));
    expect(res.status).toBe(200);
    const id = requestIdOf(res);
    const body = await res.json();
    expect(body.usage).toMatchObject({ prompt_tokens: PROMPT_TOKENS, completion_tokens: COMPLETION_TOKENS, total_tokens: 11 });
    const row = ledger.only(id); // committed before the answer's last byte: no waiting
    expect(row).toMatchObject({
      key_id: keyId,
      customer_id: customerId,
      model: 'chat',
      route: 'chat',
      status: 200,
      stream: 0,
      prompt_tokens: body.usage.prompt_tokens,
      completion_tokens: body.usage.completion_tokens,
      cached_tokens: 0,
      reasoning_tokens: 0,
      predictions: 0,
      estimated: 0,
      error_code: null,
    });
    expect(row.backend_id).toMatch(/^bk_/);
    expect(JSON.parse(row.usage_raw!)).toEqual(body.usage);
    expect(row.finished_at).toBeGreaterThanOrEqual(row.started_at);
    expect(ledger.rowsOfCustomer(customerId)).toHaveLength(1);
  });

  test('a stream without include_usage hides the usage chunk but the ledger has the exact usage', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT, { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const id = requestIdOf(res);
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.length).toBe(COMPLETION_TOKENS + 1); // one per token, then the finish chunk
    for (const chunk of chunks) {
      expect(chunk.choices).toHaveLength(1);
      expect(chunk.usage ?? null).toBeNull();
    }
    expect(backendBody(id).stream_options).toEqual({ include_usage: true });
    const row = ledger.only(id);
    expect(row).toMatchObject({ stream: 1, status: 200, prompt_tokens: PROMPT_TOKENS, completion_tokens: COMPLETION_TOKENS, estimated: 0, error_code: null });
    expect(JSON.parse(row.usage_raw!)).toMatchObject({ prompt_tokens: PROMPT_TOKENS, completion_tokens: COMPLETION_TOKENS });
  });

  test('a stream with include_usage shows the usage chunk just before [DONE]', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT, { stream: true, stream_options: { include_usage: true } }));
    const id = requestIdOf(res);
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.filter((e) => e === '[DONE]')).toHaveLength(1);
    const usageChunk = JSON.parse(events.at(-2)!);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ prompt_tokens: PROMPT_TOKENS, completion_tokens: COMPLETION_TOKENS });
    expect(backendBody(id).stream_options).toEqual({ include_usage: true });
    const row = ledger.only(id);
    expect(row).toMatchObject({ prompt_tokens: PROMPT_TOKENS, completion_tokens: COMPLETION_TOKENS, estimated: 0 });
    expect(JSON.parse(row.usage_raw!)).toEqual(usageChunk.usage);
  });

  test('a client that aborts mid-stream leaves one estimated row with the tokens delivered so far', async () => {
    const { secret } = await gw.customerWithKey();
    gw.backend.setFault({ kind: 'slow-stream', delayMs: 100 });
    const abort = new AbortController();
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(LONG_PROMPT, { stream: true }), { signal: abort.signal });
    expect(res.status).toBe(200);
    const id = requestIdOf(res);
    const reader = res.body!.getReader();
    const events = await readEvents(reader, 2);
    expect(events).toHaveLength(2);
    abort.abort();
    await reader.cancel().catch(() => {});
    const rows = await ledger.waitForRows(id);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ status: 200, stream: 1, estimated: 1, error_code: 'client_aborted' });
    expect(row.completion_tokens).toBeGreaterThanOrEqual(2);
    expect(row.completion_tokens).toBeLessThan(LONG_COMPLETION_TOKENS);
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.finished_at - row.started_at).toBeLessThan(1_000); // settled at the abort, not when the backend finished
  });

  test('a backend that drops mid-stream leaves one estimated row marked upstream_stream_error', async () => {
    const { secret } = await gw.customerWithKey();
    gw.backend.setFault({ kind: 'drop-mid-stream' });
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(LONG_PROMPT, { stream: true }));
    expect(res.status).toBe(200);
    const id = requestIdOf(res);
    let text = '';
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    await expect(
      (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += decoder.decode(value, { stream: true });
        }
      })(),
    ).rejects.toThrow(); // the client must not see a clean end
    expect(sseData(text)).not.toContain('[DONE]');
    const rows = await ledger.waitForRows(id);
    expect(rows).toHaveLength(1);
    // The backend sent 3 content events before breaking off; the third was still held back, so the
    // client got 2 — and the row bills exactly what the client received.
    const received = sseData(text).filter((d) => d !== '').length;
    expect(received).toBe(2);
    expect(rows[0]).toMatchObject({ estimated: 1, error_code: 'upstream_stream_error', completion_tokens: received });
    expect(rows[0].prompt_tokens).toBeGreaterThan(0);
  });

  test('embeddings are metered as prompt tokens', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/embeddings', secret, { model: 'chat', input: ['alpha beta gamma', 'delta'] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    expect(ledger.only(requestIdOf(res))).toMatchObject({ route: 'embeddings', prompt_tokens: 4, completion_tokens: 0, predictions: 0, estimated: 0 });
  });

  test('legacy completions are metered from their usage', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/completions', secret, { model: 'chat', prompt: 'say this', max_tokens: 2 });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 2 });
    expect(ledger.only(requestIdOf(res))).toMatchObject({ route: 'completions', prompt_tokens: 2, completion_tokens: 2 });
  });
});

describe('failed calls', () => {
  test('a backend 500 leaves one row with status 502 and no units', async () => {
    const { secret } = await gw.customerWithKey();
    gw.backend.setFault({ kind: 'status', status: 500 });
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT));
    expect(res.status).toBe(502);
    expect(ledger.only(requestIdOf(res))).toMatchObject({
      status: 502, error_code: 'upstream_error', prompt_tokens: 0, completion_tokens: 0, predictions: 0, estimated: 0, usage_raw: null,
    });
  });

  test('an unreachable backend leaves one row with status 502 and no units', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT, { model: 'down-chat' }));
    expect(res.status).toBe(502);
    expect(ledger.only(requestIdOf(res))).toMatchObject({
      model: 'down-chat', status: 502, error_code: 'upstream_unavailable', prompt_tokens: 0, completion_tokens: 0, predictions: 0,
    });
  });

  test('a backend 400 leaves one row with status 400 and no units', async () => {
    const { secret } = await gw.customerWithKey();
    gw.backend.setFault({ kind: 'status', status: 400 });
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT));
    expect(res.status).toBe(400);
    expect(ledger.only(requestIdOf(res))).toMatchObject({ status: 400, error_code: 'upstream_rejected', prompt_tokens: 0, completion_tokens: 0 });
  });
});

describe('prediction calls', () => {
  test('a KServe v2 infer with batch shape [5, 1] is metered as 5 predictions', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v2/models/infer/infer', secret, {
      inputs: [{ name: 'x', shape: [5, 1], datatype: 'FP32', data: [1, 2, 3, 4, 5] }],
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.outputs[0].data).toHaveLength(5);
    const id = requestIdOf(res);
    expect(gw.backend.requests.find((r) => r.headers['x-request-id'] === id)?.path).toBe('/v2/models/infer/infer');
    expect(ledger.only(id)).toMatchObject({ route: 'infer', model: 'infer', predictions: 5, prompt_tokens: 0, estimated: 0, status: 200 });
  });

  test('a TF Serving predict is metered from the backend’s x-units header', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/models/tf/predict', secret, { instances: [[1], [2], [3]] });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-units')).toBe('3');
    expect((await res.json()).predictions).toHaveLength(3);
    const id = requestIdOf(res);
    expect(gw.backend.requests.find((r) => r.headers['x-request-id'] === id)?.path).toBe('/v1/models/tf:predict');
    expect(ledger.only(id)).toMatchObject({ route: 'predict', model: 'tf', predictions: 3, estimated: 0 });
  });

  test('a JSON predict is one unit per request, whatever it contains', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/models/json/predict', secret, { instances: [1, 2, 3, 4] });
    expect(res.status).toBe(200);
    expect(ledger.only(requestIdOf(res))).toMatchObject({ route: 'predict', model: 'json', predictions: 1, estimated: 0 });
  });
});

describe('one row per call', () => {
  test('every metered call, whatever its outcome, leaves exactly one row under its request id', async () => {
    const { customerId, secret } = await gw.customerWithKey();
    const calls: Array<() => Promise<Response>> = [
      () => postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT)),
      () => postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT, { stream: true })),
      () => postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT, { model: 'nope' })),
      () => postJson(gw.url, '/v1/chat/completions', secret, '{not json'),
      () => postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT, { model: 'down-chat' })),
      () => postJson(gw.url, '/v1/embeddings', secret, { model: 'chat', input: 'x' }),
      () => postJson(gw.url, '/v2/models/infer/infer', secret, { inputs: [{ name: 'x', shape: [2, 1], datatype: 'FP32', data: [1, 2] }] }),
      () => postJson(gw.url, '/v1/models/tf/predict', secret, { instances: [1] }),
      () => postJson(gw.url, '/v1/models/json/predict', secret, {}),
    ];
    const ids: string[] = [];
    for (const call of calls) {
      const res = await call();
      await res.arrayBuffer();
      const id = requestIdOf(res);
      expect(ledger.rowsFor(id), `${res.status} ${id}`).toHaveLength(1);
      ids.push(id);
    }
    expect(new Set(ids).size).toBe(calls.length);
    expect(ledger.rowsOfCustomer(customerId).map((r) => r.id).sort()).toEqual([...ids].sort());
  });

  test('concurrent calls each leave exactly one row with their own usage', async () => {
    const { customerId, secret } = await gw.customerWithKey();
    const prompts = Array.from({ length: 20 }, (_, i) => 'word '.repeat(i + 1).trim());
    const responses = await Promise.all(
      prompts.map((p, i) => postJson(gw.url, '/v1/chat/completions', secret, chatBody(p, { stream: i % 2 === 0 }))),
    );
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    responses.forEach((res, i) => {
      expect(ledger.only(requestIdOf(res)).prompt_tokens).toBe(i + 1 + 3);
    });
    expect(ledger.rowsOfCustomer(customerId)).toHaveLength(prompts.length);
  });

  test('a refused key leaves no row', async () => {
    const { customerId, secret } = await gw.customerWithKey({ allowedModels: ['json'] });
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chatBody(PROMPT)) });
    expect(res.status).toBe(401);
    expect(ledger.rowsFor(requestIdOf(res))).toHaveLength(0);
    const notAllowed = await postJson(gw.url, '/v1/chat/completions', secret, chatBody(PROMPT));
    expect(notAllowed.status).toBe(403);
    expect(ledger.only(requestIdOf(notAllowed))).toMatchObject({ status: 403, error_code: 'model_not_allowed', prompt_tokens: 0 });
    expect(ledger.rowsOfCustomer(customerId)).toHaveLength(1);
  });
});
