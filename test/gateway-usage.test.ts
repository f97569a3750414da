import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { createKey } from '../src/services/keys.service';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chatBody, keyed, LedgerReader, postJson } from './support/http';

let gw: TestGateway;
let ledger: LedgerReader;

beforeAll(async () => {
  gw = await startTestGateway();
  ledger = new LedgerReader(gw.dbPath);
});
afterAll(async () => {
  ledger.close();
  await gw.stop();
});
afterEach(() => gw.backend.setFault({ kind: 'none' }));

const getUsage = (secret: string, query = '') => fetch(`${gw.url}/v1/usage${query}`, { headers: keyed(secret) });

/** Sums a customer's ledger rows the way a billing job would. */
function ledgerTotals(rows: ReturnType<LedgerReader['rowsOfCustomer']>) {
  const sum = (pick: (r: (typeof rows)[number]) => number) => rows.reduce((n, r) => n + pick(r), 0);
  return {
    requests: rows.length,
    errors: rows.filter((r) => r.status >= 400).length,
    prompt_tokens: sum((r) => r.prompt_tokens),
    completion_tokens: sum((r) => r.completion_tokens),
    total_tokens: sum((r) => r.prompt_tokens + r.completion_tokens),
    cached_tokens: sum((r) => r.cached_tokens),
    reasoning_tokens: sum((r) => r.reasoning_tokens),
    predictions: sum((r) => r.predictions),
    estimated: sum((r) => r.estimated),
  };
}

test('GET /v1/usage returns the caller’s own totals, equal to the ledger sums', async () => {
  const mine = await gw.customerWithKey();
  const other = await gw.customerWithKey();
  // Someone else's traffic must not show up in my totals.
  await (await postJson(gw.url, '/v1/chat/completions', other.secret, chatBody('not mine at all'))).arrayBuffer();

  const calls = [
    postJson(gw.url, '/v1/chat/completions', mine.secret, chatBody('hello there friend')),
    postJson(gw.url, '/v1/chat/completions', mine.secret, chatBody('streamed words', { stream: true })),
    postJson(gw.url, '/v1/embeddings', mine.secret, { model: 'chat', input: 'alpha beta' }),
    postJson(gw.url, '/v2/models/infer/infer', mine.secret, { inputs: [{ name: 'x', shape: [4, 1], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
    postJson(gw.url, '/v1/models/tf/predict', mine.secret, { instances: [1, 2] }),
    postJson(gw.url, '/v1/chat/completions', mine.secret, chatBody('x', { model: 'missing' })),
  ];
  for (const res of await Promise.all(calls)) await res.arrayBuffer();

  const res = await getUsage(mine.secret);
  expect(res.status).toBe(200);
  const usage = await res.json();
  expect(usage).toMatchObject({ object: 'usage', customer_id: mine.customerId, key_id: mine.keyId });
  const rows = ledger.rowsOfCustomer(mine.customerId);
  expect(rows).toHaveLength(6);
  const expected = ledgerTotals(rows);
  expect(usage.totals).toEqual(expected);
  expect(usage.key_totals).toEqual(expected);
  // Exact, from the deterministic backend: 6+5 (chat) + 5+4 (stream) + 2 (embeddings) tokens; 4 + 2 predictions.
  expect(usage.totals).toMatchObject({ requests: 6, errors: 1, prompt_tokens: 13, completion_tokens: 9, predictions: 6, estimated: 0 });
  expect(usage.lines.map((l: { model: string }) => l.model).sort()).toEqual(['chat', 'infer', 'missing', 'tf']);
  const days = new Set(rows.map((r) => new Date(r.started_at).toISOString().slice(0, 10)));
  expect(new Set(usage.lines.map((l: { day: string }) => l.day))).toEqual(days);
});

test('key totals cover only the calling key; customer totals cover all its keys', async () => {
  const first = await gw.customerWithKey();
  const second = await createKey(gw.gateway.deps, first.customerId, { name: 'second' });
  await (await postJson(gw.url, '/v1/chat/completions', first.secret, chatBody('hello there friend'))).arrayBuffer();
  await (await postJson(gw.url, '/v1/chat/completions', second.secret, chatBody('hello'))).arrayBuffer();
  const usage = await (await getUsage(second.secret)).json();
  expect(usage.key_id).toBe(second.key.id);
  expect(usage.totals).toMatchObject({ requests: 2, prompt_tokens: 6 + 4 });
  expect(usage.key_totals).toMatchObject({ requests: 1, prompt_tokens: 4 });
});

test('a period that ends before the calls reports zero', async () => {
  const { secret } = await gw.customerWithKey();
  await (await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'))).arrayBuffer();
  const res = await getUsage(secret, '?from=2020-01-01&to=2020-02-01');
  expect(res.status).toBe(200);
  const usage = await res.json();
  expect(usage.from).toBe('2020-01-01T00:00:00.000Z');
  expect(usage.to).toBe('2020-02-01T00:00:00.000Z');
  expect(usage.totals).toMatchObject({ requests: 0, prompt_tokens: 0, completion_tokens: 0, predictions: 0 });
  expect(usage.lines).toEqual([]);
});

test('?from=bad is 400 problem+json naming the parameter', async () => {
  const { secret } = await gw.customerWithKey();
  const res = await getUsage(secret, '?from=bad');
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = await res.json();
  expect(body).toMatchObject({ status: 400, code: 'invalid_request', param: 'from', request_id: res.headers.get('x-request-id') });
  expect(body.type).toEqual(expect.any(String));
  expect(body.title).toEqual(expect.any(String));
  expect(body.detail).toContain('from');
});

test('GET /v1/usage needs a key', async () => {
  const res = await fetch(`${gw.url}/v1/usage`);
  expect(res.status).toBe(401);
});
