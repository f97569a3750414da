import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chat, errorCode, keyOnPlan, query, startRestartableGateway, usageLimits, type RestartableGateway } from './support/limits';

let gw: RestartableGateway;
beforeAll(async () => {
  gw = await startRestartableGateway();
});
afterAll(() => gw.stop());

/** KServe v2 inference with a batch of `n` instances. */
function infer(secret: string, n: number): Promise<Response> {
  return fetch(`${gw.url}/v2/models/infer/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [n, 1], datatype: 'FP32', data: Array.from({ length: n }, (_, i) => i) }] }),
  });
}

const ledgerStatuses = (keyId: string) =>
  query<{ status: number; n: number }>(gw.dbPath, 'SELECT status, count(*) n FROM usage_events WHERE key_id = ? GROUP BY status ORDER BY status', keyId);

describe('period quotas', () => {
  test('hard: refused with 429 insufficient_quota and x-should-retry: false once used up (never 403)', async () => {
    const { secret } = await keyOnPlan(gw.deps, { quotas: [{ unit: 'requests', limit: 2, mode: 'hard' }] });
    expect((await chat(gw.url, secret)).status).toBe(200);
    const second = await chat(gw.url, secret);
    expect(second.headers.get('ratelimit')).toMatch(/^"requests-month";r=0;t=\d+$/);
    const refused = await chat(gw.url, secret);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(refused.headers.get('retry-after')).toBeNull();
    const body = (await refused.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error).toMatchObject({ code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(body.error.message).toMatch(/quota .* is used up; it resets at \d{4}-\d{2}-01T00:00:00\.000Z/);
    const limits = await usageLimits(gw.url, secret);
    expect(limits['requests-month']).toMatchObject({ kind: 'quota', mode: 'hard', limit: 2, used: 2, remaining: 0, overage: 0 });
    // The reset is the start of next month (UTC).
    const now = new Date();
    expect(limits['requests-month'].resets_at).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());
  });

  test('soft: calls beyond the quota are served and counted as overage', async () => {
    const { secret } = await keyOnPlan(gw.deps, { quotas: [{ unit: 'requests', limit: 2, mode: 'soft' }, { unit: 'tokens', limit: 15, mode: 'soft' }] });
    for (let i = 0; i < 3; i++) expect((await chat(gw.url, secret)).status).toBe(200);
    const limits = await usageLimits(gw.url, secret);
    expect(limits['requests-month']).toMatchObject({ mode: 'soft', limit: 2, used: 3, remaining: 0, overage: 1 });
    expect(limits['tokens-month']).toMatchObject({ mode: 'soft', limit: 15, used: 30, overage: 15 });
  });

  test('predictions: an infer batch counts its instances, and a batch that would pass the quota is refused', async () => {
    const { secret, keyId } = await keyOnPlan(gw.deps, { quotas: [{ unit: 'predictions', limit: 5, period: 'day' }] });
    expect((await infer(secret, 3)).status).toBe(200);
    const refused = await infer(secret, 3);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(await errorCode(refused)).toBe('insufficient_quota');
    expect((await infer(secret, 2)).status).toBe(200);
    expect((await infer(secret, 1)).status).toBe(429);
    const limits = await usageLimits(gw.url, secret);
    expect(limits['predictions-day']).toMatchObject({ unit: 'predictions', limit: 5, used: 5, remaining: 0 });
    const [row] = query<{ p: number }>(gw.dbPath, 'SELECT sum(predictions) p FROM usage_events WHERE key_id = ? AND status = 200', keyId);
    expect(row.p).toBe(5);
  });

  test('a rolling period counts the last N days, resetting as the oldest use leaves the window', async () => {
    const { secret } = await keyOnPlan(gw.deps, { quotas: [{ unit: 'requests', limit: 1, period: 'rolling:30d' }] });
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(429);
    const limits = await usageLimits(gw.url, secret);
    const resets = Date.parse(limits['requests-rolling:30d'].resets_at!);
    expect(resets - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(resets - Date.now()).toBeLessThanOrEqual(31 * 86_400_000);
  });

  test('quota used before a restart still counts: the counters are rebuilt from the ledger', async () => {
    const { secret } = await keyOnPlan(gw.deps, {
      quotas: [{ unit: 'requests', limit: 3 }, { unit: 'tokens', limit: 1000, scope: 'key' }],
      prices: { '*': { perRequest: 0.01 } },
      budget: { amount: 1 },
    });
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(200);
    const before = await usageLimits(gw.url, secret);
    await gw.restart();
    const after = await usageLimits(gw.url, secret);
    for (const name of ['requests-month', 'tokens-month', 'budget-month']) {
      expect(after[name]).toMatchObject({ used: before[name].used, reserved: 0 });
    }
    expect(after['requests-month'].used).toBe(2);
    expect(after['budget-month'].used).toBe(20_000);
    expect((await chat(gw.url, secret)).status).toBe(200);
    const refused = await chat(gw.url, secret);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('insufficient_quota');
  });
});

describe('the openai SDK against an exhausted quota', () => {
  test('makes exactly one request (default retries on): insufficient_quota carries x-should-retry: false', async () => {
    const { secret, keyId } = await keyOnPlan(gw.deps, { quotas: [{ unit: 'requests', limit: 1 }] });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret });
    expect(client.maxRetries).toBe(2);
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    const backendBefore = gw.backend.requests.length;
    const error = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'again' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).status).toBe(429);
    expect((error as RateLimitError).code).toBe('insufficient_quota');
    expect(ledgerStatuses(keyId)).toEqual([{ status: 200, n: 1 }, { status: 429, n: 1 }]);
    expect(gw.backend.requests.length).toBe(backendBefore);
  });
});
