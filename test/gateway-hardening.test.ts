import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { updatePlan } from '../src/services/plans.service';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chat, keyOnPlan, query, usageLimits } from './support/limits';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());
afterEach(() => gw.backend.setFault({ kind: 'none' }));

const deps = () => gw.gateway.deps;
const infer = (secret: string, shape: unknown[]) =>
  fetch(`${gw.url}/v2/models/infer/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', shape, datatype: 'FP32', data: [1] }] }),
  });

test('a batch size that is not a positive whole number is refused, never billed or used against a quota', async () => {
  const { secret, customerId } = await keyOnPlan(deps(), { quotas: [{ unit: 'predictions', limit: 10 }] });
  for (const shape of [[-1000, 1], [0, 1], [1.5, 1]]) {
    const res = await infer(secret, shape);
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('invalid_request');
  }
  expect((await infer(secret, [4, 1])).status).toBe(200);
  const rows = query<{ predictions: number }>(gw.dbPath, 'SELECT predictions FROM usage_events WHERE customer_id = ? AND status = 200', customerId);
  expect(rows).toEqual([{ predictions: 4 }]);
  expect((await usageLimits(gw.url, secret))['predictions-month@customer']).toMatchObject({ used: 4, reserved: 0 });
});

test('a token quota added mid-period counts the tokens already used in it', async () => {
  const { secret, planId, customerId } = await keyOnPlan(deps(), { quotas: [{ unit: 'requests', limit: 100 }] });
  for (let i = 0; i < 3; i++) expect((await chat(gw.url, secret)).status).toBe(200);
  const [{ tokens }] = query<{ tokens: number }>(gw.dbPath, 'SELECT sum(prompt_tokens + completion_tokens) tokens FROM usage_events WHERE customer_id = ?', customerId);
  expect(tokens).toBe(30);
  await updatePlan(deps(), planId, { limits: { quotas: [{ unit: 'requests', limit: 100 }, { unit: 'tokens', limit: 1000 }] } });
  expect((await chat(gw.url, secret)).status).toBe(200);
  expect((await usageLimits(gw.url, secret))['tokens-month@customer']).toMatchObject({ used: 40, reserved: 0 });
});

test('a call that names no max_tokens is held to the cap it reserved, times n', async () => {
  const { secret } = await keyOnPlan(deps(), { defaultMaxTokens: 2, quotas: [{ unit: 'tokens', limit: 1000 }] });
  const res = await chat(gw.url, secret, { model: 'chat', n: 3, messages: [{ role: 'user', content: 'one two three four five' }] });
  expect(res.status).toBe(200);
  const sent = JSON.parse(gw.backend.requests.find((r) => r.headers['x-request-id'] === res.headers.get('x-request-id'))!.body);
  expect(sent.max_tokens).toBe(2);
  expect((await res.json()).usage.completion_tokens).toBeLessThanOrEqual(2 * 3);
});

test("the caller cannot pick the operator's backend organisation or project, nor see it", async () => {
  const { secret } = await keyOnPlan(deps(), {});
  const res = await chat(gw.url, secret, undefined, { 'openai-organization': 'org-other', 'openai-project': 'proj-other' });
  expect(res.status).toBe(200);
  const seen = gw.backend.requests.find((r) => r.headers['x-request-id'] === res.headers.get('x-request-id'))!;
  expect(seen.headers['openai-organization']).toBeUndefined();
  expect(seen.headers['openai-project']).toBeUndefined();
});

test('x-api-key works beside an Authorization header that is not a Bearer token', async () => {
  const { secret } = await keyOnPlan(deps(), {});
  const res = await chat(gw.url, 'unused', undefined, { authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': secret });
  expect(res.status).toBe(200);
});

test('a budget refused on estimated cost before actual spend reaches 100 % still raises the 100 % alert, once', async () => {
  const { secret, customerId } = await keyOnPlan(deps(), { prices: { chat: { completionPer1k: 100 } }, budget: { amount: 1, alerts: [50, 100] } });
  // Each call reserves 5 completion tokens (0.50) and uses 3 ("Echo : !", 0.30).
  const body = { model: 'chat', max_tokens: 5, messages: [{ role: 'user', content: '!' }] };
  expect((await chat(gw.url, secret, body)).status).toBe(200);
  expect((await chat(gw.url, secret, body)).status).toBe(200);
  for (let i = 0; i < 3; i++) expect((await chat(gw.url, secret, body)).status).toBe(429);
  const spent = query<{ cost: number }>(gw.dbPath, 'SELECT sum(cost_micros) cost FROM usage_events WHERE customer_id = ?', customerId)[0].cost;
  expect(spent).toBe(600_000);
  const fired = async () => query<{ threshold_percent: number }>(gw.dbPath, 'SELECT threshold_percent FROM alert_events WHERE customer_id = ? ORDER BY threshold_percent', customerId);
  await new Promise((r) => setTimeout(r, 100));
  expect((await fired()).map((e) => e.threshold_percent)).toEqual([50, 100]);
});
