import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { grantCredits } from '../src/services/credits.service';
import { runCli } from './support/cli';
import { startTestGateway, type TestGateway } from './support/gateway';
import { sleep } from './support/http';
import { chat, EXACT_CHAT, errorCode, execute, keyOnPlan, query, usageLimits } from './support/limits';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

const deps = () => gw.gateway.deps;
const cli = (...args: string[]) => runCli(gw.dbPath, ...args);

const costs = (keyId: string) =>
  query<{ status: number; cost_micros: number }>(gw.dbPath, 'SELECT status, cost_micros FROM usage_events WHERE key_id = ? ORDER BY started_at, id', keyId);

describe('prices and budgets', () => {
  test('a call\'s cost comes from the plan\'s price table and lands in usage_events.cost_micros', async () => {
    const { secret, keyId } = await keyOnPlan(deps(), {
      prices: { chat: { promptPer1k: 1, completionPer1k: 2, perRequest: 0.001 }, '*': { perRequest: 5 } },
    });
    expect((await chat(gw.url, secret)).status).toBe(200);
    // 9 prompt tokens × 1/1K + 1 completion token × 2/1K + 0.001 per request = 0.012 = 12,000 micro-units.
    expect(costs(keyId)).toEqual([{ status: 200, cost_micros: 12_000 }]);
  });

  test('a budget refuses (429 insufficient_quota) once the period\'s spend would pass it; failed calls cost nothing', async () => {
    const { secret, keyId } = await keyOnPlan(deps(), { prices: { '*': { perRequest: 0.25 } }, budget: { amount: 1, period: 'month' }, currency: 'eur' });
    gw.backend.setFault({ kind: 'status', status: 500 });
    try {
      expect((await chat(gw.url, secret)).status).toBe(502);
    } finally {
      gw.backend.setFault({ kind: 'none' });
    }
    for (let i = 0; i < 4; i++) expect((await chat(gw.url, secret)).status).toBe(200);
    const refused = await chat(gw.url, secret);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(await errorCode(refused)).toBe('insufficient_quota');
    expect(costs(keyId).map((r) => r.cost_micros)).toEqual([0, 250_000, 250_000, 250_000, 250_000, 0]);
    const limits = await usageLimits(gw.url, secret);
    expect(limits['budget-month']).toMatchObject({ kind: 'budget', unit: 'micro-eur', limit: 1_000_000, used: 1_000_000, remaining: 0 });
  });
});

describe('prepaid credits', () => {
  test('granted credits pay for priced calls; calls are refused when they run out, and served again after a grant', async () => {
    const { secret, customerId, keyId } = await keyOnPlan(deps(), { credits: {}, prices: { '*': { perRequest: 0.1 } } });
    // No credits yet: refused.
    const none = await chat(gw.url, secret);
    expect(none.status).toBe(429);
    expect(await errorCode(none)).toBe('insufficient_quota');
    await grantCredits(deps(), { customer: customerId, amount: 0.3, reason: 'trial' });
    for (let i = 0; i < 3; i++) expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(429);
    let credits = (await usageLimits(gw.url, secret)).credits;
    expect(credits).toMatchObject({ kind: 'credits', limit: 300_000, used: 300_000, remaining: 0 });

    // A grant from the CLI (another process) is picked up on the next request.
    const granted = await cli('credits', 'grant', '--customer', customerId, '--amount', '0.2', '--reason', 'top-up', '--json');
    expect(granted.code).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ customerId, amountMicros: 200_000, reason: 'top-up' });
    for (let i = 0; i < 2; i++) expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(429);
    credits = (await usageLimits(gw.url, secret)).credits;
    expect(credits).toMatchObject({ limit: 500_000, used: 500_000, remaining: 0 });
    expect(costs(keyId).filter((r) => r.status === 200).reduce((a, r) => a + r.cost_micros, 0)).toBe(500_000);
  });

  test('a grant made while a call is in flight is seen by the next call', async () => {
    const { secret, customerId } = await keyOnPlan(deps(), { credits: {}, prices: { '*': { perRequest: 0.1 } } });
    await grantCredits(deps(), { customer: customerId, amount: 0.1 });
    const held = chat(gw.url, secret, EXACT_CHAT, { 'x-test-delay-ms': '400' });
    await sleep(150);
    await grantCredits(deps(), { customer: customerId, amount: 0.1 });
    expect((await held).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(429);
    expect((await usageLimits(gw.url, secret)).credits).toMatchObject({ limit: 200_000, used: 200_000 });
  });

  test('a periodic refill adds credit every period since the customer started (unspent credit carries over)', async () => {
    const { secret, customerId } = await keyOnPlan(deps(), { credits: { refill: 0.1, every: 'month' }, prices: { '*': { perRequest: 0.1 } } });
    // The customer started in the month before last: three monthly refills so far (that month's, last month's, this one's).
    const now = new Date();
    const started = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 15);
    execute(gw.dbPath, 'UPDATE customers SET created_at = ? WHERE id = ?', started, customerId);
    const limits = await usageLimits(gw.url, secret);
    expect(limits.credits).toMatchObject({ limit: 300_000, used: 0, remaining: 300_000 });
    for (let i = 0; i < 3; i++) expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(429);
  });

  test('unpriced models cost nothing and are not held back by credits', async () => {
    const { secret, keyId } = await keyOnPlan(deps(), { credits: {}, prices: { 'some-other-model': { perRequest: 1 } } });
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect(costs(keyId)).toEqual([{ status: 200, cost_micros: 0 }]);
  });
});
