import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { mintKey } from '../src/domain/api-key';
import { revokeApiKey, rollApiKey } from '../src/services/keys.service';
import { startTestGateway, type TestGateway } from './support/gateway';
import { chatBody, keyed, postJson, sleep } from './support/http';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());
afterEach(() => vi.restoreAllMocks());

/** Flips the last character of a key to another base62 character: the checksum no longer matches. */
const flipLast = (key: string) => key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');

const listModels = (headers: Record<string, string>) => fetch(`${gw.url}/v1/models`, { headers });

async function expectOpenAIError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  const body = await res.json();
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error).toMatchObject({ message: expect.any(String), type: expect.any(String), code });
  return body;
}

describe('presenting a key', () => {
  test('a Bearer key is accepted', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'));
    expect(res.status).toBe(200);
  });

  test('an x-api-key header is accepted', async () => {
    const { secret } = await gw.customerWithKey();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('hello')),
    });
    expect(res.status).toBe(200);
  });

  test('no key at all is 401 missing_api_key', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('hello')),
    });
    await expectOpenAIError(res, 401, 'missing_api_key');
  });

  test('a key with a bad checksum is 401 invalid_api_key without any database lookup', async () => {
    const { secret } = await gw.customerWithKey();
    const select = vi.spyOn(gw.gateway.deps.db, 'select');
    const res = await listModels({ authorization: `Bearer ${flipLast(secret)}` });
    await expectOpenAIError(res, 401, 'invalid_api_key');
    expect(select).not.toHaveBeenCalled();
  });

  test('a malformed key is 401 invalid_api_key without any database lookup', async () => {
    const select = vi.spyOn(gw.gateway.deps.db, 'select');
    for (const bad of ['sk-proj-abcdef', 'tg_live_short', `tg_prod_${'a'.repeat(38)}`]) {
      const res = await listModels({ authorization: `Bearer ${bad}` });
      await expectOpenAIError(res, 401, 'invalid_api_key');
    }
    expect(select).not.toHaveBeenCalled();
  });

  test('a well-formed key nobody issued is looked up once and refused with 401 invalid_api_key', async () => {
    const select = vi.spyOn(gw.gateway.deps.db, 'select');
    const res = await listModels({ authorization: `Bearer ${mintKey('live').secret}` });
    await expectOpenAIError(res, 401, 'invalid_api_key');
    expect(select).toHaveBeenCalledTimes(1);
  });
});

describe('key lifecycle', () => {
  test('a revoked key is refused with 401 key_revoked on the very next request', async () => {
    const { secret, keyId } = await gw.customerWithKey();
    expect((await listModels(keyed(secret))).status).toBe(200); // now cached in memory
    await revokeApiKey(gw.gateway.deps, keyId);
    await expectOpenAIError(await listModels(keyed(secret)), 401, 'key_revoked');
  });

  test('an expired key is refused with 401 key_expired', async () => {
    const { secret } = await gw.customerWithKey({ expiresAt: Date.now() + 500 });
    expect((await listModels(keyed(secret))).status).toBe(200);
    await sleep(550);
    await expectOpenAIError(await listModels(keyed(secret)), 401, 'key_expired');
  });

  test('a rolled key keeps working for its grace period beside its successor, then stops', async () => {
    const { secret: oldSecret, keyId } = await gw.customerWithKey();
    expect((await listModels(keyed(oldSecret))).status).toBe(200);
    const rolled = await rollApiKey(gw.gateway.deps, keyId, 500);
    expect(rolled.secret).not.toBe(oldSecret);
    expect((await listModels(keyed(oldSecret))).status).toBe(200);
    expect((await listModels(keyed(rolled.secret))).status).toBe(200);
    await sleep(550);
    await expectOpenAIError(await listModels(keyed(oldSecret)), 401, 'key_expired');
    expect((await listModels(keyed(rolled.secret))).status).toBe(200);
  });
});

describe('allowed models', () => {
  test('a model outside the key’s list is 403 model_not_allowed in OpenAI shape', async () => {
    const { secret } = await gw.customerWithKey({ allowedModels: ['json'] });
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'));
    const body = await expectOpenAIError(res, 403, 'model_not_allowed');
    expect(body.error.type).toBe('permission_error');
    expect(body.error.param).toBe('model');
    expect(gw.backend.requests.some((r) => r.headers['x-request-id'] === res.headers.get('x-request-id'))).toBe(false);
  });

  test('a model on the key’s list is served', async () => {
    const { secret } = await gw.customerWithKey({ allowedModels: ['chat'] });
    const res = await postJson(gw.url, '/v1/chat/completions', secret, chatBody('hello'));
    expect(res.status).toBe(200);
  });

  test('GET /v1/models lists only the models the key may call', async () => {
    const limited = await gw.customerWithKey({ allowedModels: ['chat', 'tf'] });
    const res = await listModels(keyed(limited.secret));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.object).toBe('list');
    expect(body.data.map((m: { id: string }) => m.id).sort()).toEqual(['chat', 'tf']);
    for (const m of body.data) expect(m).toMatchObject({ object: 'model', owned_by: expect.any(String), created: expect.any(Number) });

    const open = await gw.customerWithKey();
    const all = await (await listModels(keyed(open.secret))).json();
    expect(all.data.map((m: { id: string }) => m.id).sort()).toEqual(['chat', 'infer', 'json', 'tf']);
  });
});
