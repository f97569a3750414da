import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chat, errorCode, keyOnPlan, nextSecond, query, roomInWindow, secondKey, usageLimits } from './support/limits';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

const deps = () => gw.gateway.deps;

/** One item of a structured-field list as draft-ietf-httpapi-ratelimit-headers-11 writes it. */
const POLICY_ITEM = /^"[a-z0-9-]+";q=\d+(;w=[1-9]\d*)?$/;
const LIMIT_ITEM = /^"[a-z0-9-]+";r=\d+;t=\d+$/;

describe('request rate limits', () => {
  test('several windows at once: 3/1s and 5/1m — the 4th call in a second is refused with Retry-After, the 6th in a minute too', async () => {
    const { secret } = await keyOnPlan(deps(), { rates: [{ requests: 3, per: '1s' }, { requests: 5, per: '1m' }] });
    await roomInWindow(60_000, 3_000);
    await nextSecond();
    const burst = [];
    for (let i = 0; i < 4; i++) burst.push(await chat(gw.url, secret));
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    const refused = burst[3];
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('x-should-retry')).toBeNull();
    expect(await errorCode(refused)).toBe('rate_limited');
    expect(refused.headers.get('ratelimit')).toMatch(/^"requests-1s";r=0;t=1, "requests-1m";r=2;t=\d+$/);

    // The next second: the 1 s window has room again, the minute has 2 calls left.
    await nextSecond();
    const next = [await chat(gw.url, secret), await chat(gw.url, secret), await chat(gw.url, secret)];
    expect(next.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(await errorCode(next[2])).toBe('rate_limited');
    // Waiting one second would not help: Retry-After points at the end of the minute window.
    const retryAfter = Number(next[2].headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(next[2].headers.get('ratelimit')).toMatch(/^"requests-1s";r=\d;t=1, "requests-1m";r=0;t=(\d+)$/);
    expect(Number(/t=(\d+)$/.exec(next[2].headers.get('ratelimit')!)![1])).toBe(retryAfter);
  });

  test('when two windows refuse together, Retry-After is the later reset', async () => {
    const { secret } = await keyOnPlan(deps(), { rates: [{ requests: 2, per: '1s' }, { requests: 2, per: '1m' }] });
    await roomInWindow(60_000, 3_000);
    await nextSecond();
    const statuses = [];
    let last: Response | null = null;
    for (let i = 0; i < 3; i++) {
      last = await chat(gw.url, secret);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(1);
  });

  test('RateLimit-Policy / RateLimit follow draft-11 syntax, with OpenAI x-ratelimit-* fields beside them', async () => {
    const { secret } = await keyOnPlan(deps(), {
      rates: [{ requests: 3, per: '1s' }, { requests: 500, per: '1m' }],
      quotas: [{ unit: 'requests', limit: 1000 }],
    });
    await nextSecond();
    const res = await chat(gw.url, secret);
    expect(res.status).toBe(200);
    const policy = res.headers.get('ratelimit-policy')!;
    const limit = res.headers.get('ratelimit')!;
    expect(policy).toBe('"requests-1s";q=3;w=1, "requests-1m";q=500;w=60, "requests-month";q=1000');
    for (const item of policy.split(', ')) expect(item).toMatch(POLICY_ITEM);
    for (const item of limit.split(', ')) expect(item).toMatch(LIMIT_ITEM);
    expect(limit).toMatch(/^"requests-1s";r=2;t=1, "requests-1m";r=499;t=\d+, "requests-month";r=999;t=\d+$/);
    // The tightest request limit is the 1 s window.
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('2');
    expect(res.headers.get('x-ratelimit-reset-requests')).toBe('1s');
    // No token limit, no token fields.
    expect(res.headers.get('x-ratelimit-limit-tokens')).toBeNull();
    // The backend's own x-ratelimit-* never cross the gateway (it sends limit 1000 / remaining 999).
    expect(res.headers.get('x-ratelimit-remaining-requests')).not.toBe('999');
  });

  test('a plan without limits sends no rate-limit fields', async () => {
    const { secret } = await keyOnPlan(deps(), {});
    const res = await chat(gw.url, secret);
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit')).toBeNull();
    expect(res.headers.get('ratelimit-policy')).toBeNull();
  });
});

describe('scope', () => {
  test('key: each key of the customer has its own window', async () => {
    const { secret, customerId } = await keyOnPlan(deps(), { scope: 'key', rates: [{ requests: 2, per: '1m' }] });
    const other = await secondKey(deps(), customerId);
    await roomInWindow(60_000, 5_000);
    const a = [await chat(gw.url, secret), await chat(gw.url, secret), await chat(gw.url, secret)];
    expect(a.map((r) => r.status)).toEqual([200, 200, 429]);
    const b = [await chat(gw.url, other.secret), await chat(gw.url, other.secret)];
    expect(b.map((r) => r.status)).toEqual([200, 200]);
  });

  test('customer (the default): all keys share one window', async () => {
    const { secret, customerId } = await keyOnPlan(deps(), { rates: [{ requests: 2, per: '1m' }] });
    const other = await secondKey(deps(), customerId);
    await roomInWindow(60_000, 5_000);
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, other.secret)).status).toBe(200);
    const refused = await chat(gw.url, secret);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('rate_limited');
    const limits = await usageLimits(gw.url, other.secret);
    expect(limits['requests-1m']).toMatchObject({ kind: 'rate', scope: 'customer', limit: 2, used: 2, remaining: 0 });
  });

  test('both: a key is held to its own window and to the customer\'s; the policies are named apart', async () => {
    const { secret, customerId } = await keyOnPlan(deps(), {
      rates: [{ requests: 2, per: '1m', scope: 'both' }],
      quotas: [{ unit: 'requests', limit: 3, scope: 'both' }],
    });
    const other = await secondKey(deps(), customerId);
    await roomInWindow(60_000, 5_000);
    const first = await chat(gw.url, secret);
    expect(first.headers.get('ratelimit-policy')).toBe(
      '"requests-1m-key";q=2;w=60, "requests-1m-customer";q=2;w=60, "requests-month-key";q=3, "requests-month-customer";q=3',
    );
    expect((await chat(gw.url, secret)).status).toBe(200);
    const keyRefused = await chat(gw.url, secret); // the key's own window is full
    expect(keyRefused.status).toBe(429);
    expect(keyRefused.headers.get('ratelimit')).toMatch(/^"requests-1m-key";r=0;t=\d+, "requests-1m-customer";r=0;t=\d+/);
    const customerRefused = await chat(gw.url, other.secret); // a fresh key, but the customer's window is full
    expect(customerRefused.status).toBe(429);
    // A refused call takes nothing: the fresh key still has its whole window.
    expect(customerRefused.headers.get('ratelimit')).toMatch(/^"requests-1m-key";r=2;t=\d+, "requests-1m-customer";r=0;t=\d+, "requests-month-key";r=3;t=\d+, "requests-month-customer";r=1;t=\d+$/);
    const limits = await usageLimits(gw.url, other.secret);
    expect(limits['requests-1m@key']).toMatchObject({ used: 0 });
    expect(limits['requests-1m@customer']).toMatchObject({ used: 2 });
  });
});

describe('the openai SDK', () => {
  test('retries a rate_limited 429 after Retry-After and succeeds (waiting helps)', async () => {
    const { secret, keyId } = await keyOnPlan(deps(), { rates: [{ requests: 1, per: '1s' }] });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret }); // default maxRetries: 2
    await nextSecond();
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'one' }] });
    const started = Date.now();
    const second = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'two' }] });
    expect(second.choices[0].message.content).toContain('two');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const rows = query<{ status: number; n: number }>(gw.dbPath, 'SELECT status, count(*) n FROM usage_events WHERE key_id = ? GROUP BY status ORDER BY status', keyId);
    expect(rows).toEqual([{ status: 200, n: 2 }, { status: 429, n: 1 }]);
  });
});
