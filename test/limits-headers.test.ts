import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chat, keyOnPlan } from './support/limits';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

test('keyed answers that reserve nothing still carry the rate-limit fields, counting nothing', async () => {
  const { secret } = await keyOnPlan(gw.gateway.deps, { rates: [{ requests: 100, per: '1m' }], tokensPerMinute: { limit: 5000 } });
  expect((await chat(gw.url, secret)).status).toBe(200);
  const auth = { authorization: `Bearer ${secret}` };
  for (const res of [
    await fetch(`${gw.url}/v1/models`, { headers: auth }),
    await fetch(`${gw.url}/v1/usage`, { headers: auth }),
    await chat(gw.url, secret, { model: 'no-such-model', messages: [] }),
  ]) {
    expect(res.headers.get('ratelimit-policy')).toBe('"requests-1m";q=100;w=60');
    expect(res.headers.get('ratelimit')).toMatch(/^"requests-1m";r=99;t=\d+$/);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('99');
    expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('5000');
  }
});

test('a key whose plan limits nothing gets no rate-limit fields', async () => {
  const { secret } = await keyOnPlan(gw.gateway.deps, {});
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('ratelimit-policy')).toBeNull();
});
