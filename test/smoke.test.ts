import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestGateway, type TestGateway } from './support/gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

test('a keyed chat completion is proxied and answered', async () => {
  const { secret } = await gw.customerWithKey();
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi there' }] }),
  });
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body.usage.prompt_tokens).toBeGreaterThan(0);
});
