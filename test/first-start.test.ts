import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, expect, test } from 'vitest';
import { freePort, startChildGateway } from './support/child-gateway';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-first-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the first start seeds a demo key that works at once; a second start reuses the database and prints no secret', async () => {
  const env = { TOLLGATE_DB: join(dir, 'tollgate.db'), TOLLGATE_DEMO: 'on', TOLLGATE_DEMO_PORT: String(await freePort()), TOLLGATE_LOG: 'info' };
  const first = await startChildGateway({ env });
  // The banner and the readiness answer travel on different pipes: wait for the banner itself.
  const deadline = Date.now() + 10_000;
  while (!/Models: demo-chat/.test(first.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const printed = first.output().match(/tg_live_[0-9A-Za-z]{38}/g) ?? [];
  const secret = printed[0];
  expect(secret).toBeDefined();
  expect(first.output()).toContain(`curl ${first.url}/v1/chat/completions`);
  const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: secret!, maxRetries: 0 });
  const reply = await client.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'Hello, Tollgate!' }] });
  expect(reply.choices[0].message.content).toBe('Echo: Hello , Tollgate !');
  expect(reply.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 6 });
  expect((await first.stop()).code).toBe(0);

  const second = await startChildGateway({ env });
  while (!/Demo model backend on/.test(second.output()) && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 20));
  expect(second.output()).toContain('Tollgate listening on');
  expect(second.output()).not.toMatch(/tg_(live|test)_[0-9A-Za-z]{38}/);
  const again = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: secret!, maxRetries: 0 });
  const usage = await (await fetch(`${second.url}/v1/usage`, { headers: { authorization: `Bearer ${secret}` } })).json();
  expect(usage.totals.requests).toBe(1);
  expect((await again.models.list()).data.map((m) => m.id)).toContain('demo-chat');
  expect((await second.stop()).code).toBe(0);
});
