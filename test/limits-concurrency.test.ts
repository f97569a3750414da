import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createCustomer } from '../src/services/customers.service';
import { createKey } from '../src/services/keys.service';
import { createPlan } from '../src/services/plans.service';
import { startTestGateway, type TestGateway } from './support/gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

let plans = 0;
async function keyOnPlan(limits: Record<string, unknown>) {
  const deps = gw.gateway.deps;
  const plan = await createPlan(deps, { name: `concurrency-${++plans}`, limits });
  const customer = await createCustomer(deps, { name: `hammer-${plans}`, plan: plan.id });
  const { secret, key } = await createKey(deps, customer.id);
  return { secret, keyId: key.id, customerId: customer.id };
}

/**
 * A prompt whose reservation is exact: the gateway estimates ceil(len(JSON of messages) / 4) = 9 prompt
 * tokens plus max_tokens 1; the backend counts 6 punctuation tokens + 3 per message = 9, and answers 1.
 */
const EXACT_BODY = JSON.stringify({ model: 'chat', max_tokens: 1, messages: [{ role: 'user', content: '!!!!!!' }] });

/** N clients hammer until each has seen a refusal; returns status counts. */
async function hammer(secret: string, clients: number, body: string) {
  const dispatcher = new Agent({ connections: clients });
  const statuses: number[] = [];
  const codes = new Set<string>();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < 50; i++) {
        const res = await request(`${gw.url}/v1/chat/completions`, {
          method: 'POST', dispatcher, body,
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        });
        const json = (await res.body.json()) as { error?: { code: string } };
        statuses.push(res.statusCode);
        if (res.statusCode === 429) {
          codes.add(json.error!.code);
          expect(res.headers['x-should-retry']).toBe('false');
          return;
        }
      }
    }),
  );
  await dispatcher.close();
  return { ok: statuses.filter((s) => s === 200).length, refused: statuses.filter((s) => s === 429).length, other: statuses.filter((s) => s !== 200 && s !== 429).length, codes };
}

function ledgerTotals(customerId: string) {
  const db = new Database(gw.dbPath, { readonly: true });
  const row = db
    .prepare('SELECT sum(status = 200) ok, sum(prompt_tokens + completion_tokens) tokens, count(*) n FROM usage_events WHERE customer_id = ?')
    .get(customerId) as { ok: number; tokens: number; n: number };
  db.close();
  return row;
}

async function quotaViews(secret: string) {
  const res = await fetch(`${gw.url}/v1/usage`, { headers: { authorization: `Bearer ${secret}` } });
  const body = (await res.json()) as { limits: Array<{ name: string; used: number; reserved: number; remaining: number }> };
  return Object.fromEntries(body.limits.map((l) => [l.name, l]));
}

test('64 clients against a 100-request quota and a 1,000-token budget: exactly 100 succeed', async () => {
  const { secret, customerId } = await keyOnPlan({
    quotas: [{ unit: 'requests', limit: 100 }, { unit: 'tokens', limit: 1000 }],
  });
  const result = await hammer(secret, 64, EXACT_BODY);
  expect(result.ok).toBe(100);
  expect(result.other).toBe(0);
  expect(result.refused).toBe(64);
  expect([...result.codes]).toEqual(['insufficient_quota']);

  const ledger = ledgerTotals(customerId);
  expect(ledger.ok).toBe(100);
  expect(ledger.tokens).toBe(1000);
  const views = await quotaViews(secret);
  expect(views['requests-month']).toMatchObject({ used: 100, reserved: 0, remaining: 0 });
  expect(views['tokens-month']).toMatchObject({ used: ledger.tokens, reserved: 0, remaining: 0 });
});

test('when the token budget binds first, it is never exceeded and nothing stays reserved', async () => {
  const { secret, customerId } = await keyOnPlan({
    quotas: [{ unit: 'requests', limit: 1000 }, { unit: 'tokens', limit: 1000 }],
  });
  // Over-estimated calls: the reservation is 9 + 3 = 12 tokens, the backend counts 7 + 3 = 10.
  const body = JSON.stringify({ model: 'chat', max_tokens: 3, messages: [{ role: 'user', content: '!!!!' }] });
  const result = await hammer(secret, 64, body);
  const ledger = ledgerTotals(customerId);
  expect(ledger.tokens).toBeLessThanOrEqual(1000);
  expect(ledger.ok).toBe(result.ok);
  expect(ledger.tokens).toBe(result.ok * 10);
  // Refusals start only once less than one reservation (12) is left.
  expect(ledger.tokens).toBeGreaterThan(1000 - 12);
  const views = await quotaViews(secret);
  expect(views['tokens-month']).toMatchObject({ used: ledger.tokens, reserved: 0 });
  expect(views['requests-month']).toMatchObject({ used: result.ok, reserved: 0 });
});

test('a stream the client leaves before any token bills nothing and releases its whole reservation', async () => {
  const { secret, customerId } = await keyOnPlan({ quotas: [{ unit: 'requests', limit: 10 }, { unit: 'tokens', limit: 1000 }] });
  const controller = new AbortController();
  // The backend waits 300 ms before answering; the client gives up after 100 ms.
  const call = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    signal: controller.signal,
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'x-test-delay-ms': '300' },
    body: JSON.stringify({ model: 'chat', stream: true, max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] }),
  });
  setTimeout(() => controller.abort(), 100);
  await expect(call).rejects.toThrow();
  await new Promise((r) => setTimeout(r, 500));
  const db = new Database(gw.dbPath, { readonly: true });
  const rows = db.prepare('SELECT status, prompt_tokens, completion_tokens, error_code FROM usage_events WHERE customer_id = ?').all(customerId);
  db.close();
  expect(rows).toEqual([{ status: 499, prompt_tokens: 0, completion_tokens: 0, error_code: 'client_closed' }]);
  const views = await quotaViews(secret);
  expect(views['requests-month']).toMatchObject({ used: 0, reserved: 0 });
  expect(views['tokens-month']).toMatchObject({ used: 0, reserved: 0 });
});
