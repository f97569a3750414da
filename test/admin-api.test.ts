import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, hsToken, startAdminGateway, unique } from './support/admin';
import type { TestGateway } from './support/gateway';
import { chatBody, postJson } from './support/http';

let gw: TestGateway;
let call: ReturnType<typeof adminClient>;
beforeAll(async () => {
  gw = await startAdminGateway();
  call = adminClient(gw.url, await hsToken({ sub: 'ops@tollgate.test' }));
});
afterAll(() => gw.stop());

describe('customers and plans', () => {
  test('create, show, list with cursors and filters, update with If-Match', async () => {
    const plan = await call('POST', '/admin/v1/plans', { name: unique('pro'), limits: { rates: [{ requests: 100, per: '1m' }] } });
    expect(plan.status).toBe(201);
    expect(plan.body).toMatchObject({ object: 'plan', limits: { rates: [{ requests: 100, per: '1m' }] } });
    const email = `${unique('ops')}@acme.test`;
    const names = [unique('acme'), unique('acme'), unique('acme')];
    const created = [];
    for (const name of names) created.push((await call('POST', '/admin/v1/customers', { name, email, plan: plan.body.name })).body);
    expect(created[0]).toMatchObject({ object: 'customer', name: names[0], email, plan_id: plan.body.id, status: 'active' });

    const pages = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { status: number; body: { data: Array<{ name: string }>; next_cursor: string | null } } = await call('GET', `/admin/v1/customers?email=${encodeURIComponent(email)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      pages.push(page.body.data.map((c) => c.name));
      cursor = page.body.next_cursor;
    }
    expect(pages).toEqual([names.slice(0, 2), names.slice(2)]);

    const shown = await call('GET', `/admin/v1/customers/${names[1]}`);
    const etag = shown.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const suspended = await call('PATCH', `/admin/v1/customers/${names[1]}`, { status: 'suspended', plan: null }, { 'if-match': etag });
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({ status: 'suspended', plan_id: null });
    expect(suspended.headers.get('etag')).not.toBe(etag);
    const filtered = await call('GET', `/admin/v1/customers?email=${encodeURIComponent(email)}&status=suspended`);
    expect(filtered.body.data.map((c: { id: string }) => c.id)).toEqual([created[1].id]);
  });

  test('two admins updating from the same read: the second is refused with 412, nothing lost silently', async () => {
    const name = unique('race');
    await call('POST', '/admin/v1/customers', { name });
    const etag = (await call('GET', `/admin/v1/customers/${name}`)).headers.get('etag')!;
    const first = await call('PATCH', `/admin/v1/customers/${name}`, { email: 'first@acme.test' }, { 'if-match': etag });
    const second = await call('PATCH', `/admin/v1/customers/${name}`, { email: 'second@acme.test' }, { 'if-match': etag });
    expect(first.status).toBe(200);
    expect(second.status).toBe(412);
    expect(second.body.code).toBe('precondition_failed');
    expect((await call('GET', `/admin/v1/customers/${name}`)).body.email).toBe('first@acme.test');
    const forced = await call('PATCH', `/admin/v1/customers/${name}`, { email: 'third@acme.test' }, { 'if-match': '*' });
    expect(forced.status).toBe(200);
    const missing = await call('PATCH', `/admin/v1/customers/${name}`, { email: 'fourth@acme.test' });
    expect(missing.status).toBe(428);
    expect(missing.body.code).toBe('precondition_required');
  });

  test('concurrent updates from one read: exactly one wins', async () => {
    const name = unique('concurrent');
    await call('POST', '/admin/v1/customers', { name });
    const etag = (await call('GET', `/admin/v1/customers/${name}`)).headers.get('etag')!;
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call('PATCH', `/admin/v1/customers/${name}`, { email: `n${i}@acme.test` }, { 'if-match': etag })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
  });

  test('an alert webhook secret is answered once: on create and on rotation, never on reads', async () => {
    const name = unique('hooked');
    const created = await call('POST', '/admin/v1/customers', { name, webhook_url: 'https://hooks.acme.test/tollgate' });
    expect(created.body).toMatchObject({ webhook_url: 'https://hooks.acme.test/tollgate', webhook_secret: expect.stringMatching(/^whsec_/) });
    const shown = await call('GET', `/admin/v1/customers/${name}`);
    expect(shown.body.webhook_secret).toBeUndefined();
    const rotated = await call('PATCH', `/admin/v1/customers/${name}`, { rotate_webhook_secret: true }, { 'if-match': shown.headers.get('etag')! });
    expect(rotated.body.webhook_secret, JSON.stringify(rotated.body)).toMatch(/^whsec_/);
    expect(rotated.body.webhook_secret).not.toBe(created.body.webhook_secret);
    const renamed = await call('PATCH', `/admin/v1/customers/${name}`, { email: 'x@acme.test' }, { 'if-match': rotated.headers.get('etag')! });
    expect(renamed.body.webhook_secret).toBeUndefined();
    const grant = await call('POST', `/admin/v1/customers/${name}/credits`, { amount: 12.5, reason: 'welcome' });
    expect(grant.status).toBe(201);
    expect(grant.body).toMatchObject({ object: 'credit_grant', customer_id: created.body.id, amount: 12.5, reason: 'welcome' });
    expect((await call('POST', `/admin/v1/customers/${name}/credits`, { amount: 0 })).body.errors[0].field).toBe('amount');
  });

  test('plan limits are validated field by field; names stay unique', async () => {
    const bad = await call('POST', '/admin/v1/plans', { name: unique('bad'), limits: { rates: [{ requests: 0, per: 'soon' }], nonsense: true } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    expect(bad.body).toMatchObject({ code: 'invalid_request', request_id: bad.headers.get('x-request-id') });
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['limits.nonsense', 'limits.rates.0.per', 'limits.rates.0.requests']);
    const name = unique('dup');
    expect((await call('POST', '/admin/v1/plans', { name })).status).toBe(201);
    const dup = await call('POST', '/admin/v1/plans', { name });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('conflict');
    const etag = (await call('GET', `/admin/v1/plans/${name}`)).headers.get('etag')!;
    const changed = await call('PATCH', `/admin/v1/plans/${name}`, { limits: { quotas: [{ unit: 'requests', limit: 10 }] } }, { 'if-match': etag });
    expect(changed.body.limits).toEqual({ quotas: [{ unit: 'requests', limit: 10 }] });
  });

  test('malformed JSON, wrong media type and unknown routes answer problem+json with stable codes', async () => {
    const malformed = await call('POST', '/admin/v1/customers', '{"name":', { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('invalid_request');
    const text = await call('POST', '/admin/v1/customers', 'name=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body.code).toBe('unsupported_media_type');
    const nowhere = await call('GET', '/admin/v1/nothing-here');
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.code).toBe('not_found');
    const badLimit = await call('GET', '/admin/v1/customers?limit=5000');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.errors[0].field).toBe('limit');
    const badCursor = await call('GET', '/admin/v1/customers?cursor=garbage');
    expect(badCursor.body).toMatchObject({ code: 'invalid_request', param: 'cursor' });
  });
});

describe('keys', () => {
  test('issued over HTTP, the secret is shown once and works; list and show never show it', async () => {
    const customer = unique('keys');
    await call('POST', '/admin/v1/customers', { name: customer });
    const created = await call('POST', '/admin/v1/keys', { customer, name: 'ci', allowed_models: ['chat'] });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^tg_live_[0-9A-Za-z]{38}$/);
    const chat = await postJson(gw.url, '/v1/chat/completions', created.body.secret, chatBody('hello'));
    expect(chat.status).toBe(200);
    const listed = await call('GET', `/admin/v1/keys?customer=${customer}`);
    const shown = await call('GET', `/admin/v1/keys/${created.body.key.display_prefix}`);
    for (const answer of [listed, shown]) expect(JSON.stringify(answer.body)).not.toContain(created.body.secret);
    expect(listed.body.data).toEqual([shown.body]);
    expect(shown.body).toMatchObject({ id: created.body.key.id, state: 'active', allowed_models: ['chat'], name: 'ci' });
  });

  test('update allowed models, expiry and limit overrides; the next request sees them', async () => {
    const { secret, keyId } = await gw.customerWithKey();
    const etag = (await call('GET', `/admin/v1/keys/${keyId}`)).headers.get('etag')!;
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const updated = await call(
      'PATCH',
      `/admin/v1/keys/${keyId}`,
      { name: 'renamed', allowed_models: ['json'], expires_at: expiresAt, limit_overrides: { concurrency: { limit: 2 } } },
      { 'if-match': etag },
    );
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'renamed', allowed_models: ['json'], expires_at: expiresAt, limit_overrides: { concurrency: { limit: 2 } } });
    const refused = await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'));
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe('model_not_allowed');

    const badOverride = await call('PATCH', `/admin/v1/keys/${keyId}`, { limit_overrides: { concurrency: { limit: -1 } } }, { 'if-match': '*' });
    expect(badOverride.status).toBe(400);
    expect(badOverride.body.errors[0].field).toBe('limit_overrides.concurrency.limit');
    const past = await call('PATCH', `/admin/v1/keys/${keyId}`, { expires_at: '2001-01-01T00:00:00Z' }, { 'if-match': '*' });
    expect(past.body).toMatchObject({ code: 'invalid_request', param: 'expires_at' });
  });

  test('revoke refuses the very next request; roll keeps the old key for the grace period', async () => {
    const { secret, keyId } = await gw.customerWithKey();
    const rolled = await call('POST', `/admin/v1/keys/${keyId}/roll`, { grace: '1h' });
    expect(rolled.status).toBe(201);
    expect(rolled.body.previous).toMatchObject({ id: keyId, rolled_to: rolled.body.key.id, state: 'active' });
    expect(Date.parse(rolled.body.previous.expires_at) - Date.now()).toBeGreaterThan(59 * 60_000);
    expect((await postJson(gw.url, '/v1/chat/completions', secret, chatBody('old'))).status).toBe(200);
    expect((await postJson(gw.url, '/v1/chat/completions', rolled.body.secret, chatBody('new'))).status).toBe(200);
    const again = await call('POST', `/admin/v1/keys/${keyId}/roll`);
    expect(again.status).toBe(409);

    const revoked = await call('POST', `/admin/v1/keys/${rolled.body.key.id}/revoke`);
    expect(revoked.body).toMatchObject({ state: 'revoked' });
    const refused = await postJson(gw.url, '/v1/chat/completions', rolled.body.secret, chatBody('revoked'));
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe('key_revoked');
    expect((await call('POST', `/admin/v1/keys/${rolled.body.key.id}/revoke`)).status).toBe(200);
    const filtered = await call('GET', `/admin/v1/keys?state=revoked&limit=200`);
    expect(filtered.body.data.map((k: { id: string }) => k.id)).toContain(rolled.body.key.id);
    expect(filtered.body.data.every((k: { state: string }) => k.state === 'revoked')).toBe(true);
  });

  test('unknown customer or key answers 404 with the parameter', async () => {
    expect((await call('POST', '/admin/v1/keys', { customer: 'nobody-at-all' })).body).toMatchObject({ code: 'not_found', param: 'customer' });
    expect((await call('GET', '/admin/v1/keys/key_missing')).status).toBe(404);
  });
});

describe('models', () => {
  test('add, show, replace backends, remove; calls follow at once', async () => {
    const name = unique('vendor/model');
    const path = `/admin/v1/models/${encodeURIComponent(name)}`;
    const created = await call('POST', '/admin/v1/models', { name, backends: [{ protocol: 'json', url: 'http://127.0.0.1:9/predict', weight: 2 }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, units: 'request', backends: [{ protocol: 'json', url: 'http://127.0.0.1:9/predict', weight: 2 }] });
    const { secret } = await gw.customerWithKey();
    const down = await postJson(gw.url, `/v1/models/${encodeURIComponent(name)}/predict`, secret, { x: 1 });
    expect(down.status).toBe(502);

    const etag = (await call('GET', path)).headers.get('etag')!;
    const patched = await call('PATCH', path, { backends: [{ protocol: 'json', url: `${gw.backend.url}/predict` }] }, { 'if-match': etag });
    expect(patched.status).toBe(200);
    expect(patched.body.backends).toHaveLength(1);
    expect((await postJson(gw.url, `/v1/models/${encodeURIComponent(name)}/predict`, secret, { x: 1 })).status).toBe(200);
    expect((await call('PATCH', path, { units: 'instances' }, { 'if-match': etag })).status).toBe(412);

    const list = await call('GET', '/admin/v1/models?limit=200');
    expect(list.body.data.map((m: { name: string }) => m.name)).toContain(name);
    expect((await call('DELETE', path, undefined, { 'if-match': etag })).status).toBe(412);
    expect((await call('DELETE', path)).status).toBe(204);
    expect((await call('GET', path)).status).toBe(404);
    const gone = await postJson(gw.url, `/v1/models/${encodeURIComponent(name)}/predict`, secret, { x: 1 });
    expect(gone.status).toBe(404);
  });

  test('every bad field of a model is named', async () => {
    const bad = await call('POST', '/admin/v1/models', { name: 'has space', backends: [{ protocol: 'grpc', url: 'ftp://x', credential_env: 'not-a-var' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['backends.0.credential_env', 'backends.0.protocol', 'backends.0.url', 'name']);
  });
});

describe('usage', () => {
  test('totals and a series, filtered by customer, key, model and status, by hour, day or month', async () => {
    const a = await gw.customerWithKey();
    const second = (await call('POST', '/admin/v1/keys', { customer: a.customerId })).body;
    const b = { secret: second.secret as string, keyId: second.key.id as string };
    await postJson(gw.url, '/v1/chat/completions', a.secret, chatBody('one two three'));
    await postJson(gw.url, '/v1/chat/completions', a.secret, chatBody('four five'));
    await postJson(gw.url, '/v1/chat/completions', b.secret, chatBody('six'));
    await postJson(gw.url, '/v1/chat/completions', b.secret, { model: 'no-such-model', messages: [] });

    const all = await call('GET', `/admin/v1/usage?customer=${a.customerId}&interval=hour&group_by=key`);
    expect(all.status).toBe(200);
    expect(all.body.totals.requests).toBe(4);
    expect(all.body.totals.errors).toBe(1);
    const hour = new Date().toISOString().slice(0, 13);
    expect(all.body.series.map((s: { bucket: string; key_id: string; requests: number }) => [s.bucket.slice(0, 13), s.key_id, s.requests]).sort()).toEqual(
      [[hour, a.keyId, 2], [hour, b.keyId, 2]].sort(),
    );
    const ok = await call('GET', `/admin/v1/usage?customer=${a.customerId}&status=success&interval=month`);
    expect(ok.body.totals.requests).toBe(3);
    expect(ok.body.series).toEqual([expect.objectContaining({ bucket: new Date().toISOString().slice(0, 7), requests: 3 })]);
    const errors = await call('GET', `/admin/v1/usage?key=${b.keyId}&status=404`);
    expect(errors.body.totals).toMatchObject({ requests: 1, errors: 1 });
    const byModel = await call('GET', `/admin/v1/usage?customer=${a.customerId}&model=chat&group_by=model`);
    expect(byModel.body.series).toEqual([expect.objectContaining({ model: 'chat', requests: 3, bucket: new Date().toISOString().slice(0, 10) })]);
    const none = await call('GET', `/admin/v1/usage?customer=${a.customerId}&from=2001-01-01&to=2001-02-01`);
    expect(none.body.totals.requests).toBe(0);
    const bad = await call('GET', '/admin/v1/usage?interval=week&group_by=planet');
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['group_by', 'interval']);
  });
});
