import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestGateway, type TestGateway } from './support/gateway';
import { sleep } from './support/http';
import { chat, EXACT_CHAT, errorCode, keyOnPlan, roomInWindow, usageLimits } from './support/limits';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

const deps = () => gw.gateway.deps;

describe('tokens per minute', () => {
  test('weighted units (prompt ×1, completion ×3) are reserved, reported in x-ratelimit-*-tokens, and refused past the limit', async () => {
    const { secret } = await keyOnPlan(deps(), { tokensPerMinute: { limit: 50, promptWeight: 1, completionWeight: 3 } });
    await roomInWindow(60_000, 5_000);
    // Each call: 9 prompt tokens ×1 + 1 completion token ×3 = 12 units.
    const remaining = [];
    for (let i = 0; i < 4; i++) {
      const res = await chat(gw.url, secret);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('50');
      expect(res.headers.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+s|1m0s)$/);
      remaining.push(Number(res.headers.get('x-ratelimit-remaining-tokens')));
    }
    expect(remaining).toEqual([38, 26, 14, 2]);
    const refused = await chat(gw.url, secret);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('tokens_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('2');
    const limits = await usageLimits(gw.url, secret);
    expect(limits['tokens-per-minute']).toMatchObject({ kind: 'tokens_per_minute', unit: 'tokens', limit: 50, used: 48, reserved: 0, remaining: 2 });
  });

  test('a single call that could never fit is refused without Retry-After and with x-should-retry: false', async () => {
    const { secret } = await keyOnPlan(deps(), { tokensPerMinute: { limit: 50 } });
    const res = await chat(gw.url, secret, { ...EXACT_CHAT, max_tokens: 100 });
    expect(res.status).toBe(429);
    expect(await errorCode(res)).toBe('tokens_limited');
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.headers.get('x-should-retry')).toBe('false');
  });

  test('a call without max_tokens reserves the plan\'s default cap, and settles to what it used', async () => {
    const { secret } = await keyOnPlan(deps(), { tokensPerMinute: { limit: 120 }, defaultMaxTokens: 80 });
    await roomInWindow(60_000, 5_000);
    const body = { model: 'chat', messages: [{ role: 'user', content: '!!!!!!' }] };
    const first = await chat(gw.url, secret, body); // reserves 9 + 80 = 89 of 120
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe('31');
    const usage = ((await first.json()) as { usage: { total_tokens: number } }).usage;
    // Settled to the real use, so the next reservation fits again.
    const second = await chat(gw.url, secret, body);
    expect(second.status).toBe(200);
    expect(Number(second.headers.get('x-ratelimit-remaining-tokens'))).toBe(120 - usage.total_tokens - 89);
  });
});

describe('concurrency', () => {
  test('calls in flight beyond the limit are refused with Retry-After; a slot frees when a call ends', async () => {
    const { secret } = await keyOnPlan(deps(), { concurrency: { limit: 2 } });
    const held = [chat(gw.url, secret, EXACT_CHAT, { 'x-test-delay-ms': '600' }), chat(gw.url, secret, EXACT_CHAT, { 'x-test-delay-ms': '600' })];
    await sleep(200);
    const limits = await usageLimits(gw.url, secret);
    expect(limits.concurrency).toMatchObject({ kind: 'concurrency', limit: 2, used: 2, remaining: 0 });
    const refused = await chat(gw.url, secret);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('concurrency_limited');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await usageLimits(gw.url, secret)).concurrency).toMatchObject({ used: 0, remaining: 2 });
  });

  test('a failed upstream call releases its slot', async () => {
    const { secret } = await keyOnPlan(deps(), { concurrency: { limit: 1 } });
    const res = await chat(gw.url, secret, { ...EXACT_CHAT, model: 'no-such-model' });
    expect(res.status).toBe(404);
    gw.backend.setFault({ kind: 'status', status: 500 });
    try {
      expect((await chat(gw.url, secret)).status).toBe(502);
    } finally {
      gw.backend.setFault({ kind: 'none' });
    }
    expect((await chat(gw.url, secret)).status).toBe(200);
  });
});
