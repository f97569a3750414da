import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { updateKey } from '../src/services/keys-admin.service';
import { createPlan, updatePlan } from '../src/services/plans.service';
import { runCli } from './support/cli';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chat, engineOf, errorCode, keyOnPlan, roomInWindow, secondKey, usageLimits } from './support/limits';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

const deps = () => gw.gateway.deps;
const cli = (...args: string[]) => runCli(gw.dbPath, ...args);

describe('changing a plan', () => {
  test('takes effect on the next request: through updatePlan, and through the CLI in another process', async () => {
    const { secret, planId, planName } = await keyOnPlan(deps(), { quotas: [{ unit: 'requests', limit: 1 }] });
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(429);
    await updatePlan(deps(), planId, { limits: { quotas: [{ unit: 'requests', limit: 3 }] } });
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await usageLimits(gw.url, secret))['requests-month']).toMatchObject({ limit: 3, used: 2 });

    // plans update merges flags into the stored limits: the quota stays, a rate window is added.
    const updated = await cli('plans', 'update', planName, '--quota', 'requests:2/month:hard', '--rate', '100/1m', '--json');
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout).limits).toEqual({ quotas: [{ unit: 'requests', limit: 2, period: 'month', mode: 'hard' }], rates: [{ requests: 100, per: '1m' }] });
    const refused = await chat(gw.url, secret);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('insufficient_quota');
    expect(refused.headers.get('ratelimit-policy')).toBe('"requests-1m";q=100;w=60, "requests-month";q=2');

    const cleared = await cli('plans', 'update', planName, '--clear', 'quotas', '--json');
    expect(JSON.parse(cleared.stdout).limits).toEqual({ rates: [{ requests: 100, per: '1m' }] });
    expect((await chat(gw.url, secret)).status).toBe(200);
  });

  test('moving a customer to another plan applies the new plan on the next request', async () => {
    const { secret, customerId } = await keyOnPlan(deps(), { quotas: [{ unit: 'requests', limit: 1 }] });
    const bigger = await createPlan(deps(), { name: `bigger-${customerId}`, limits: { quotas: [{ unit: 'requests', limit: 5 }] } });
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(429);
    const moved = await cli('customers', 'update', customerId, '--plan', bigger.name, '--json');
    expect(moved.code).toBe(0);
    expect((await chat(gw.url, secret)).status).toBe(200);
  });

  test('the CLI refuses bad limits with the offending field named', async () => {
    const { planName } = await keyOnPlan(deps(), {});
    const [badFlag, badJson, badWeights] = await Promise.all([
      cli('plans', 'update', planName, '--rate', 'ten/1s'),
      cli('plans', 'update', planName, '--limits', '{"quotas":[{"unit":"requests","limit":0}]}', '--json'),
      cli('plans', 'create', '--name', `weights-${planName}`, '--tpm-weights', 'prompt=1,completion=3'),
    ]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("--rate looks like 10/1s, 500/1m or 20000/1d; got 'ten/1s'");
    expect(badJson.code).toBe(1);
    expect(JSON.parse(badJson.stderr).error).toMatchObject({ code: 'invalid_request', param: 'limits.quotas.0.limit' });
    expect(badWeights.code).toBe(2);
    expect(badWeights.stderr).toContain('give --tpm too');
  });

  test('plans create with every flag, and plans show', async () => {
    const name = `full-${Date.now()}`;
    const created = await cli(
      'plans', 'create', '--name', name, '--rate', '10/1s', '--rate', '500/m', '--rate', '20000/1d', '--tpm', '20000', '--tpm-weights', 'prompt=1,completion=3',
      '--concurrency', '4:key', '--quota', 'requests:100000/month:hard', '--quota', 'tokens:5000000/rolling:30d:soft', '--credits-refill', '10',
      '--credits-every', 'month', '--credit-alerts', '50,90', '--budget', '100/month', '--alerts', '50,80,100', '--price', 'chat:prompt=0.5,completion=1.5',
      '--price', '*:request=0.001,prediction=0.01', '--currency', 'EUR', '--default-max-tokens', '512', '--scope', 'both', '--json',
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).limits).toEqual({
      rates: [{ requests: 10, per: '1s' }, { requests: 500, per: '1m' }, { requests: 20000, per: '1d' }],
      tokensPerMinute: { limit: 20000, promptWeight: 1, completionWeight: 3 },
      concurrency: { limit: 4, scope: 'key' },
      quotas: [{ unit: 'requests', limit: 100000, period: 'month', mode: 'hard' }, { unit: 'tokens', limit: 5000000, period: 'rolling:30d', mode: 'soft' }],
      credits: { refill: 10, every: 'month', alerts: [50, 90] },
      budget: { amount: 100, period: 'month', alerts: [50, 80, 100] },
      prices: { chat: { promptPer1k: 0.5, completionPer1k: 1.5 }, '*': { perRequest: 0.001, perPrediction: 0.01 } },
      currency: 'eur',
      defaultMaxTokens: 512,
      scope: 'both',
    });
    const shown = await cli('plans', 'show', name);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^name:\s+full-/m);
    expect(shown.stdout).toContain('"tokensPerMinute"');
  });
});

describe('key overrides', () => {
  test('a key\'s overrides replace parts of its plan\'s limits, for that key only', async () => {
    const { secret, customerId } = await keyOnPlan(deps(), { scope: 'key', quotas: [{ unit: 'requests', limit: 100 }], rates: [{ requests: 50, per: '1m' }] });
    const limited = await secondKey(deps(), customerId, { limitOverrides: { quotas: [{ unit: 'requests', limit: 1 }] } });
    expect((await chat(gw.url, limited.secret)).status).toBe(200);
    expect((await chat(gw.url, limited.secret)).status).toBe(429);
    expect((await chat(gw.url, secret)).status).toBe(200);
    expect((await chat(gw.url, secret)).status).toBe(200);
    // Parts the override does not name (the rate window) still come from the plan.
    expect((await usageLimits(gw.url, limited.secret))['requests-1m']).toMatchObject({ limit: 50 });

    // Changed with the service, then cleared from the CLI: each applies on the next request.
    await updateKey(deps(), limited.keyId, { limitOverrides: { quotas: [{ unit: 'requests', limit: 2 }] } });
    expect((await chat(gw.url, limited.secret)).status).toBe(200);
    expect((await chat(gw.url, limited.secret)).status).toBe(429);
    const cleared = await cli('keys', 'update', limited.keyId, '--clear-limits', '--json');
    expect(cleared.code).toBe(0);
    expect(JSON.parse(cleared.stdout).limitOverrides).toBeNull();
    expect((await chat(gw.url, limited.secret)).status).toBe(200);
  });

  test('keys create --limits sets overrides; bad ones are refused naming the field', async () => {
    const { customerId } = await keyOnPlan(deps(), {});
    const [ok, bad] = await Promise.all([
      cli('keys', 'create', '--customer', customerId, '--limits', '{"rates":[{"requests":5,"per":"1s"}]}', '--json'),
      cli('keys', 'create', '--customer', customerId, '--limits', '{"rates":[{"requests":5,"per":"soon"}]}', '--json'),
    ]);
    expect(ok.code).toBe(0);
    const created = JSON.parse(ok.stdout) as { secret: string; key: { limitOverrides: unknown } };
    expect(created.key.limitOverrides).toEqual({ rates: [{ requests: 5, per: '1s' }] });
    const res = await chat(gw.url, created.secret);
    expect(res.headers.get('ratelimit-policy')).toBe('"requests-1s";q=5;w=1');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'invalid_request', param: 'limit_overrides.rates.0.per' });
  });
});

describe('memory', () => {
  test('idle limiter state is evicted without changing any answer; live windows are kept', async () => {
    const engine = engineOf(deps());
    const quota = await keyOnPlan(deps(), { scope: 'both', quotas: [{ unit: 'requests', limit: 3 }], prices: { '*': { perRequest: 0.1 } }, budget: { amount: 10 } });
    await roomInWindow(60_000, 5_000);
    const windowed = await keyOnPlan(deps(), { scope: 'key', rates: [{ requests: 2, per: '1m' }] });
    expect((await chat(gw.url, quota.secret)).status).toBe(200);
    expect((await chat(gw.url, quota.secret)).status).toBe(200);
    expect((await chat(gw.url, windowed.secret)).status).toBe(200);
    expect((await chat(gw.url, windowed.secret)).status).toBe(200);
    const before = await usageLimits(gw.url, quota.secret);

    const size = engine.subjectCount;
    engine.evictIdle(0);
    // The quota subjects went (their counts live in the ledger); the key with a live window stayed.
    expect(engine.subjectCount).toBeLessThan(size);
    const after = await usageLimits(gw.url, quota.secret);
    for (const name of ['requests-month@key', 'requests-month@customer', 'budget-month']) expect(after[name]).toEqual(before[name]);
    expect((await chat(gw.url, windowed.secret)).status).toBe(429);
    expect((await chat(gw.url, quota.secret)).status).toBe(200);
    expect((await chat(gw.url, quota.secret)).status).toBe(429);
  });

  test('state stays bounded by the active keys: a thousand one-off keys leave nothing behind once idle', async () => {
    const engine = engineOf(deps());
    const { customerId, planId } = await keyOnPlan(deps(), { scope: 'key', quotas: [{ unit: 'requests', limit: 10 }] });
    expect(planId).toBeTruthy();
    const keys = await Promise.all(Array.from({ length: 1000 }, () => secondKey(deps(), customerId)));
    engine.evictIdle(0);
    const base = engine.subjectCount;
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => chat(gw.url, k.secret)));
    expect(engine.subjectCount).toBeGreaterThanOrEqual(base + 1000);
    engine.evictIdle(0);
    expect(engine.subjectCount).toBeLessThanOrEqual(base);
    // And they still answer the same afterwards: each key has 9 of its 10 requests left.
    expect((await usageLimits(gw.url, keys[0].secret))['requests-month']).toMatchObject({ used: 1, remaining: 9 });
  });
});
