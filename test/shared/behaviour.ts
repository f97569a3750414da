import { beforeEach, describe, expect, test } from 'vitest';
import { clientOf, uniqueName, type LedgerRow, type Target } from './target';

const CHAT = { model: 'chat', max_tokens: 8, messages: [{ role: 'user', content: 'Say hello to the gateway' }] };
/** The backend counts 6 punctuation tokens + 3 per message = 9 prompt tokens, and answers 1 token. */
const EXACT = { model: 'chat', max_tokens: 1, messages: [{ role: 'user', content: '!!!!!!' }] };

const sum = (rows: LedgerRow[], f: (r: LedgerRow) => number) => rows.reduce((n, r) => n + f(r), 0);

/**
 * The HTTP behaviour every build must show, driven only over HTTP (plus reading the ledger where the
 * target can). `smoke` keeps the tests that need no direct store access (for `wrangler dev`).
 */
export function behaviourSuite(getTarget: () => Target, options: { smoke?: boolean } = {}) {
  let t: Target;
  let c: ReturnType<typeof clientOf>;
  const full = options.smoke ? test.skip : test;

  beforeEach(async () => {
    t = getTarget();
    c = clientOf(t);
    await t.reset();
    await c.ensureModels();
  });

  const ledger = async (customerId: string) => {
    if (!t.ledger) throw new Error(`${t.runtime}: no ledger access`);
    return t.ledger(customerId);
  };

  describe('auth and key states', () => {
    test('no key, a malformed key and an unknown key are 401 in OpenAI shape, with a request id', async () => {
      const none = await c.call(null, '/v1/chat/completions', CHAT);
      expect(none.status).toBe(401);
      expect(none.body.error).toMatchObject({ code: 'missing_api_key', type: expect.any(String) });
      expect(none.headers.get('x-request-id')).toMatch(/^req_/);
      expect((await c.call('tg_live_not-a-key', '/v1/chat/completions', CHAT)).body.error.code).toBe('invalid_api_key');
      const { secret } = await c.customerWithKey();
      const forged = `${secret.slice(0, -7)}${secret.at(-7) === 'a' ? 'b' : 'a'}${secret.slice(-6)}`;
      expect((await c.call(forged, '/v1/chat/completions', CHAT)).body.error.code).toBe('invalid_api_key');
    });

    test('a revoked key, an expired key and a suspended customer are refused on the next request', async () => {
      const a = await c.customerWithKey();
      expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
      expect((await c.admin('POST', `/admin/v1/keys/${a.keyId}/revoke`)).status).toBe(200);
      const revoked = await c.call(a.secret, '/v1/chat/completions', CHAT);
      expect([revoked.status, revoked.body.error.code]).toEqual([401, 'key_revoked']);

      const b = await c.customerWithKey();
      expect((await c.call(b.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
      const expiresAt = Date.now() + 1_000;
      const expiring = await c.admin('PATCH', `/admin/v1/keys/${b.keyId}`, { expires_at: new Date(expiresAt).toISOString() }, { 'if-match': '*' });
      expect(expiring.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 50));
      expect((await c.call(b.secret, '/v1/chat/completions', CHAT)).body.error.code).toBe('key_expired');

      const d = await c.customerWithKey();
      expect((await c.call(d.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
      await c.admin('PATCH', `/admin/v1/customers/${d.customer}`, { status: 'suspended' }, { 'if-match': '*' });
      const suspended = await c.call(d.secret, '/v1/chat/completions', CHAT);
      expect([suspended.status, suspended.body.error.code]).toEqual([403, 'customer_suspended']);
    });

    full('a revocation written to the store by someone else is refused within one second', async () => {
      const a = await c.customerWithKey();
      expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
      await t.writeStore!('UPDATE api_keys SET revoked_at = ? WHERE id = ?', Date.now(), a.keyId);
      const written = Date.now();
      let refusedAfter = -1;
      while (Date.now() - written < 3_000) {
        const res = await c.call(a.secret, '/v1/models');
        if (res.status === 401) {
          refusedAfter = Date.now() - written;
          expect(res.body.error.code).toBe('key_revoked');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(refusedAfter).toBeGreaterThanOrEqual(0);
      expect(refusedAfter).toBeLessThanOrEqual(1_100);
    });
  });

  describe('proxying and the ledger', () => {
    test('a chat completion is proxied with its usage; one ledger row holds exactly that usage', async () => {
      const a = await c.customerWithKey();
      const res = await c.call(a.secret, '/v1/chat/completions', CHAT);
      expect(res.status).toBe(200);
      expect(res.body.choices[0].message.content).toEqual(expect.any(String));
      const usage = res.body.usage;
      expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
      const requestId = res.headers.get('x-request-id');
      expect(requestId).toMatch(/^req_/);
      // The backend got the credential from the gateway's secrets (BACKEND_TOKEN), never the client's key.
      expect(res.headers.get('x-upstream-saw-authorization')).toBe('Bearer backend-secret');
      if (!t.ledger) return;
      const rows = await ledger(a.customerId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        id: requestId, key_id: a.keyId, model: 'chat', route: 'chat', status: 200, stream: 0,
        prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens,
      });
    });

    test('a stream passes through; usage the client did not ask for is hidden from it and still billed', async () => {
      const a = await c.customerWithKey();
      const plain = await c.stream(a.secret, CHAT);
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(plain.events.at(-1)).toBe('[DONE]');
      const chunks = plain.events.slice(0, -1).map((e) => JSON.parse(e));
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.some((chunk) => chunk.usage)).toBe(false);

      const asked = await c.stream(a.secret, { ...CHAT, stream_options: { include_usage: true } });
      const usage = asked.events.slice(0, -1).map((e) => JSON.parse(e)).find((chunk) => chunk.usage)?.usage;
      expect(usage.completion_tokens).toBeGreaterThan(0);
      if (!t.ledger) return;
      const rows = await ledger(a.customerId);
      expect(rows.map((r) => [r.stream, r.status])).toEqual([[1, 200], [1, 200]]);
      // The same prompt both times: each row holds the stream's own usage, hidden or not.
      for (const row of rows) expect([row.prompt_tokens, row.completion_tokens]).toEqual([usage.prompt_tokens, usage.completion_tokens]);
    });

    test('a slow stream reaches the client event by event, not all at once at the end', async () => {
      const a = await c.customerWithKey();
      const started = Date.now();
      const res = await t.fetch('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${a.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...CHAT, model: 'slow', stream: true }),
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const arrivals: number[] = [];
      for (;;) {
        const { done } = await reader.read();
        if (done) break;
        arrivals.push(Date.now() - started);
      }
      const total = Date.now() - started;
      // The backend pauses 150 ms before each of its events: a buffering gateway delivers everything at the end.
      expect(total).toBeGreaterThan(900);
      expect(arrivals.length).toBeGreaterThan(3);
      expect(arrivals[0]).toBeLessThan(total / 2);
    });

    full('a client that cancels a stream midway: one row, marked client_aborted, nothing left reserved', async () => {
      const a = await c.customerWithKey({ quotas: [{ unit: 'requests', limit: 100 }] });
      const res = await t.fetch('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${a.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...CHAT, model: 'slow', stream: true }),
      });
      const reader = res.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      await reader.cancel();
      let rows: LedgerRow[] = [];
      for (let waited = 0; waited < 5_000 && rows.length === 0; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        rows = await ledger(a.customerId);
      }
      expect(rows).toHaveLength(1);
      expect(rows[0].error_code).toBe('client_aborted');
      const usage = await c.call(a.secret, '/v1/usage');
      expect(usage.body.limits.find((l: { kind: string }) => l.kind === 'quota')).toMatchObject({ reserved: 0 });
    });

    test('KServe v2 infer and JSON predict are proxied and metered by instances and by request', async () => {
      const a = await c.customerWithKey();
      const infer = await c.call(a.secret, '/v2/models/infer/infer', {
        inputs: [{ name: 'x', shape: [3, 2], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }],
      });
      expect(infer.status).toBe(200);
      expect(infer.body.outputs).toEqual(expect.any(Array));
      const predict = await c.call(a.secret, '/v1/models/json/predict', { input: 'hello' });
      expect(predict.status).toBe(200);
      if (!t.ledger) return;
      const rows = await ledger(a.customerId);
      expect(rows.map((r) => [r.route, r.predictions])).toEqual([['infer', 3], ['predict', 1]]);
    });

    test('errors: unknown model 404, bad JSON 400, an unreachable backend 502 with a zero-unit ledger row', async () => {
      const a = await c.customerWithKey();
      const unknown = await c.call(a.secret, '/v1/chat/completions', { ...CHAT, model: 'no-such-model' });
      expect([unknown.status, unknown.body.error.code]).toEqual([404, 'model_not_found']);
      const bad = await c.call(a.secret, '/v1/chat/completions', '{"model":');
      expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
      const down = await c.call(a.secret, '/v1/models/down/predict', { input: 1 });
      expect(down.status).toBe(502);
      expect(down.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(down.body).toMatchObject({ status: 502, code: 'upstream_unavailable' });
      const route = await c.call(a.secret, '/v1/nothing-here');
      expect(route.status).toBe(404);
      if (!t.ledger) return;
      const rows = await ledger(a.customerId);
      const failed = rows.find((r) => r.model === 'down');
      expect(failed).toMatchObject({ status: 502, predictions: 0, prompt_tokens: 0, completion_tokens: 0, cost_micros: 0 });
    });
  });

  describe('limits and quotas', () => {
    test('a rate limit refuses the third call in its window with Retry-After and rate-limit fields', async () => {
      const a = await c.customerWithKey({ rates: [{ requests: 2, per: '1m' }] });
      for (let i = 0; i < 2; i++) {
        const ok = await c.call(a.secret, '/v1/chat/completions', CHAT);
        expect(ok.status).toBe(200);
        expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe(String(1 - i));
      }
      const refused = await c.call(a.secret, '/v1/chat/completions', CHAT);
      expect([refused.status, refused.body.error.code]).toEqual([429, 'rate_limited']);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('ratelimit-policy')).toBeTruthy();
    });

    test('40 concurrent clients against a 20-request quota: exactly 20 succeed, the ledger agrees, nothing stays reserved', async () => {
      const a = await c.customerWithKey({ quotas: [{ unit: 'requests', limit: 20 }, { unit: 'tokens', limit: 200 }] });
      const answers = await Promise.all(Array.from({ length: 40 }, () => c.call(a.secret, '/v1/chat/completions', EXACT)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(20);
      expect(statuses.filter((s) => s === 429)).toHaveLength(20);
      for (const refused of answers.filter((r) => r.status === 429)) {
        expect(refused.body.error.code).toBe('insufficient_quota');
        expect(refused.headers.get('x-should-retry')).toBe('false');
      }
      const usage = await c.call(a.secret, '/v1/usage');
      const quota = usage.body.limits.find((l: { kind: string; unit: string }) => l.kind === 'quota' && l.unit === 'requests');
      expect(quota).toMatchObject({ used: 20, reserved: 0, remaining: 0 });
      expect(usage.body.totals).toMatchObject({ requests: 40, errors: 20, total_tokens: 200 });
      if (!t.ledger) return;
      const rows = await ledger(a.customerId);
      const served = rows.filter((r) => r.status === 200);
      expect(served).toHaveLength(20);
      expect(sum(served, (r) => r.prompt_tokens + r.completion_tokens)).toBe(200);
    });

    test('a plan edit applies to the next request', async () => {
      const a = await c.customerWithKey({ quotas: [{ unit: 'requests', limit: 1 }] });
      expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
      expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(429);
      const edited = await c.admin('PATCH', `/admin/v1/plans/${a.plan}`, { limits: { quotas: [{ unit: 'requests', limit: 3 }] } }, { 'if-match': '*' });
      expect(edited.status).toBe(200);
      expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
    });

    full('a plan edit written to the store by someone else applies within one second', async () => {
      const a = await c.customerWithKey({ quotas: [{ unit: 'requests', limit: 1 }] });
      expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
      expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(429);
      await t.writeStore!('UPDATE plans SET limits = ? WHERE name = ?', JSON.stringify({ quotas: [{ unit: 'requests', limit: 5 }] }), a.plan);
      const written = Date.now();
      let servedAfter = -1;
      while (Date.now() - written < 3_000) {
        if ((await c.call(a.secret, '/v1/chat/completions', CHAT)).status === 200) {
          servedAfter = Date.now() - written;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(servedAfter).toBeGreaterThanOrEqual(0);
      expect(servedAfter).toBeLessThanOrEqual(1_100);
    });

    test('a money budget prices calls from the plan and refuses the call that would overspend', async () => {
      // 10 per 1,000 tokens: EXACT (9 prompt + 1 completion tokens) costs 0.10.
      const a = await c.customerWithKey({ budget: { amount: 0.25, period: 'month' }, prices: { chat: { promptPer1k: 10, completionPer1k: 10 } } });
      expect((await c.call(a.secret, '/v1/chat/completions', EXACT)).status).toBe(200);
      expect((await c.call(a.secret, '/v1/chat/completions', EXACT)).status).toBe(200);
      const refused = await c.call(a.secret, '/v1/chat/completions', EXACT);
      expect([refused.status, refused.body.error.code]).toEqual([429, 'insufficient_quota']);
      if (!t.ledger) return;
      const rows = await ledger(a.customerId);
      expect(rows.filter((r) => r.status === 200).map((r) => r.cost_micros)).toEqual([100_000, 100_000]);
    });
  });

  describe('billing', () => {
    full('meters set up, a customer linked and usage synced through the admin API: Stripe holds exactly the ledger', async () => {
      const setup = await c.admin('POST', '/admin/v1/billing/setup', { meters: ['requests', 'input_tokens', 'output_tokens', 'predictions'] });
      expect(setup.status).toBe(200);
      expect(setup.body.data.map((l: { meter: string }) => l.meter).sort()).toEqual(['input_tokens', 'output_tokens', 'predictions', 'requests']);
      const a = await c.customerWithKey();
      const linked = await c.admin('POST', '/admin/v1/billing/link', { customer: a.customer });
      expect(linked.status).toBe(200);
      expect(linked.body.stripe_customer_id).toMatch(/^cus_/);
      for (let i = 0; i < 3; i++) expect((await c.call(a.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
      const infer = await c.call(a.secret, '/v2/models/infer/infer', { inputs: [{ name: 'x', shape: [2, 1], datatype: 'FP32', data: [1, 2] }] });
      expect(infer.status).toBe(200);
      // Synced straight after the calls: whatever the runtime's store, the sync sends every committed call.
      const sync = await c.admin('POST', '/admin/v1/billing/sync', {});
      expect(sync.status).toBe(200);
      const rows = await ledger(a.customerId);
      expect(rows).toHaveLength(4);
      expect(sync.body).toMatchObject({ object: 'billing_sync', outage: false, parked: 0 });
      expect(sync.body.delivered).toBeGreaterThan(0);
      const report = await c.admin('GET', `/admin/v1/billing/reconciliation?customer=${a.customer}`);
      expect(report.status).toBe(200);
      const lines = Object.fromEntries(report.body.lines.map((l: { meter: string }) => [l.meter, l]));
      expect(lines.requests).toMatchObject({ status: 'ok', served: 4, ledger: 4, stripe: 4 });
      expect(lines.input_tokens).toMatchObject({ status: 'ok', ledger: sum(rows, (r) => r.prompt_tokens), stripe: sum(rows, (r) => r.prompt_tokens) });
      expect(lines.output_tokens).toMatchObject({ status: 'ok', ledger: sum(rows, (r) => r.completion_tokens), stripe: sum(rows, (r) => r.completion_tokens) });
      expect(lines.predictions).toMatchObject({ status: 'ok', ledger: 2, stripe: 2 });
      // A second run finds nothing new to send.
      expect((await c.admin('POST', '/admin/v1/billing/sync', {})).body).toMatchObject({ claimed_rows: 0, delivered: 0 });
    });
  });

  describe('usage and admin API', () => {
    test('GET /v1/usage reports the caller’s own totals and limits at once', async () => {
      const a = await c.customerWithKey({ rates: [{ requests: 100, per: '1m' }] });
      const first = await c.call(a.secret, '/v1/chat/completions', CHAT);
      await c.call(a.secret, '/v1/chat/completions', CHAT);
      const usage = await c.call(a.secret, '/v1/usage');
      expect(usage.status).toBe(200);
      expect(usage.body).toMatchObject({ object: 'usage', customer_id: a.customerId, key_id: a.keyId });
      expect(usage.body.totals).toMatchObject({ requests: 2, prompt_tokens: 2 * first.body.usage.prompt_tokens });
      expect(usage.body.limits[0]).toMatchObject({ kind: 'rate', used: 2, limit: 100 });
    });

    test('admin API: create, read with ETag, stale If-Match is 412, usage report per customer', async () => {
      const name = uniqueName('acme');
      const created = await c.admin('POST', '/admin/v1/customers', { name, email: 'ops@acme.test' });
      expect(created.status).toBe(201);
      const etag = created.headers.get('etag')!;
      expect(etag).toBeTruthy();
      expect((await c.admin('PATCH', `/admin/v1/customers/${name}`, { email: 'a@acme.test' }, { 'if-match': etag })).status).toBe(200);
      expect((await c.admin('PATCH', `/admin/v1/customers/${name}`, { email: 'b@acme.test' }, { 'if-match': etag })).status).toBe(412);
      expect((await c.admin('PATCH', `/admin/v1/customers/${name}`, { email: 'b@acme.test' })).status).toBe(428);
      expect((await c.admin('GET', `/admin/v1/customers/${name}`)).body).toMatchObject({ name, email: 'a@acme.test' });
      const unauthorised = await t.fetch('/admin/v1/customers');
      expect(unauthorised.status).toBe(401);

      const key = await c.admin('POST', '/admin/v1/keys', { customer: name });
      for (let i = 0; i < 3; i++) expect((await c.call(key.body.secret, '/v1/chat/completions', CHAT)).status).toBe(200);
      // A customer's report includes every call it made, at once, on every runtime.
      const report = await c.admin('GET', `/admin/v1/usage?customer=${name}`);
      expect(report.status).toBe(200);
      expect(report.body.totals.requests).toBe(3);
    });
  });
}
