import { exportSPKI, importJWK, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../src/config';
import { ADMIN_SECRET, adminClient, ALL_SCOPES, hsToken, startAdminGateway, unique } from './support/admin';
import { startTestGateway, type TestGateway } from './support/gateway';
import { providerKey, signWith, startJwksServer, type JwksServer, type ProviderKey } from './support/jwks-server';

const now = () => Math.floor(Date.now() / 1000);

describe('admin API with no admin auth configured', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.stop());

  test('is off and says so, whatever token comes', async () => {
    const call = adminClient(gw.url, await hsToken());
    for (const [method, path] of [['GET', '/admin/v1/customers'], ['POST', '/admin/v1/customers'], ['GET', '/admin/anything']]) {
      const res = await call(method, path, method === 'POST' ? { name: 'x' } : undefined);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.body).toMatchObject({ code: 'admin_disabled', request_id: res.headers.get('x-request-id') });
      expect(res.body.detail).toContain('TOLLGATE_ADMIN_JWT_SECRET');
    }
  });
});

describe('admin API with a shared HS256 secret', () => {
  let gw: TestGateway;
  let customer: string;
  beforeAll(async () => {
    gw = await startAdminGateway();
    customer = (await adminClient(gw.url, await hsToken())('POST', '/admin/v1/customers', { name: unique('scopes') })).body.id;
  });
  afterAll(() => gw.stop());

  /** One operation per scope (billing:run has no operation until billing lands). */
  const OPERATION: Record<string, () => [string, string, unknown?]> = {
    'admin:read': () => ['GET', '/admin/v1/customers'],
    'customers:write': () => ['POST', '/admin/v1/customers', { name: unique('c') }],
    'plans:write': () => ['POST', '/admin/v1/plans', { name: unique('p') }],
    'models:write': () => ['POST', '/admin/v1/models', { name: unique('m'), backends: [{ protocol: 'openai', url: 'http://127.0.0.1:9/v1' }] }],
    'keys:write': () => ['POST', '/admin/v1/keys', { customer }],
    'audit:read': () => ['GET', '/admin/v1/audit'],
  };

  test.each(Object.keys(OPERATION))('a token with only %s may do its operations and no other', async (scope) => {
    const call = adminClient(gw.url, await hsToken({ scope }));
    const [method, path, body] = OPERATION[scope]();
    const allowed = await call(method, path, body);
    expect(allowed.status, JSON.stringify(allowed.body)).toBeLessThan(300);
    for (const [other, operation] of Object.entries(OPERATION)) {
      if (other === scope) continue;
      const [m, p, b] = operation();
      const refused = await call(m, p, b);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'forbidden' });
      expect(refused.headers.get('www-authenticate')).toBe(`Bearer realm="tollgate-admin", error="insufficient_scope", scope="${other}"`);
    }
  });

  test('scopes may also come as an `scp` list; a token with no scopes may do nothing', async () => {
    expect((await adminClient(gw.url, await hsToken({ scope: undefined, scp: ['admin:read'] }))('GET', '/admin/v1/plans')).status).toBe(200);
    expect((await adminClient(gw.url, await hsToken({ scope: undefined }))('GET', '/admin/v1/plans')).status).toBe(403);
  });

  const refusals: Array<[string, () => Promise<string>, RegExp]> = [
    ['expired', () => hsToken({ iat: now() - 3600, exp: now() - 120 }), /expired/],
    ['not yet valid', () => hsToken({ nbf: now() + 300 }), /not valid yet/],
    ['from another issuer', () => hsToken({ iss: 'someone-else' }), /"iss"/],
    ['for another audience', () => hsToken({ aud: 'another-api' }), /"aud"/],
    ['without exp', () => hsToken({ exp: undefined }), /"exp"/],
    ['without sub', () => hsToken({ sub: undefined }), /"sub"/],
    ['signed with another secret', () => hsToken({}, { secret: 'another-secret-0123456789abcdef-0123456789' }), /signature/],
    ['signed with HS512 (algorithm not pinned)', () => hsToken({}, { alg: 'HS512' }), /algorithm/],
    ['unsecured (alg none)', async () => new UnsecuredJWT({ sub: 'x', scope: ALL_SCOPES.join(' ') }).setIssuer('tollgate').setAudience('tollgate-admin').setExpirationTime('10m').encode(), /algorithm|malformed/],
    ['with a tampered payload', async () => tamper(await hsToken({ scope: 'admin:read' })), /signature/],
    ['not a JWT at all', async () => 'tg_live_not-a-jwt', /malformed/],
  ];

  test.each(refusals)('a token %s is refused with 401 and the reason', async (_name, make, reason) => {
    const res = await adminClient(gw.url, await make())('GET', '/admin/v1/customers');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'unauthorized', request_id: expect.any(String) });
    expect(res.body.detail).toMatch(reason);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="tollgate-admin", error="invalid_token"/);
  });

  test('a clock a few seconds off is tolerated', async () => {
    const res = await adminClient(gw.url, await hsToken({ iat: now() - 600, exp: now() - 5, nbf: now() + 5 }))('GET', '/admin/v1/customers');
    expect(res.status).toBe(200);
  });

  test('no token: 401 with a Bearer challenge; the admin token is no API key and vice versa', async () => {
    const bare = await fetch(`${gw.url}/admin/v1/customers`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="tollgate-admin"');
    const { secret } = await gw.customerWithKey();
    expect((await adminClient(gw.url, secret)('GET', '/admin/v1/customers')).status).toBe(401);
    const asKey = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${await hsToken()}` } });
    expect(asKey.status).toBe(401);
    expect((await asKey.json()).error.code).toBe('invalid_api_key');
  });
});

/** Flips the token's payload to grant every scope while keeping the original signature. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  claims.scope = ALL_SCOPES.join(' ');
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

describe('admin API with an identity provider (JWKS)', () => {
  const ISSUER = 'https://idp.test/';
  const AUDIENCE = 'tollgate-admin-api';
  let gw: TestGateway;
  let idp: JwksServer;
  let keys: Record<'ed' | 'ec' | 'rsa', ProviderKey>;
  const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'okta|alice', iss: ISSUER, aud: AUDIENCE, exp: now() + 600, scope: 'admin:read', ...extra });
  const read = async (token: string) => adminClient(gw.url, token)('GET', '/admin/v1/plans');

  beforeAll(async () => {
    keys = { ed: await providerKey('EdDSA', 'ed-1'), ec: await providerKey('ES256', 'ec-1'), rsa: await providerKey('RS256', 'rsa-1') };
    idp = await startJwksServer(Object.values(keys));
    gw = await startTestGateway({
      TOLLGATE_ADMIN_JWKS_URL: idp.url,
      TOLLGATE_ADMIN_ISSUER: ISSUER,
      TOLLGATE_ADMIN_AUDIENCE: AUDIENCE,
      TOLLGATE_ADMIN_JWKS_COOLDOWN_MS: '0',
    });
  });
  afterAll(async () => {
    await gw.stop();
    await idp.close();
  });

  test('tokens signed with EdDSA, ES256 and RS256 keys of the set are accepted; the set is fetched once and cached', async () => {
    for (const key of Object.values(keys)) {
      const res = await read(await signWith(key, claims()));
      expect(res.status, `${key.alg}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    const fetches = idp.fetches;
    await read(await signWith(keys.ed, claims()));
    expect(idp.fetches).toBe(fetches);
  });

  test('wrong issuer, wrong audience, expiry and a missing scope are refused', async () => {
    expect((await read(await signWith(keys.ec, claims({ iss: 'https://evil.test/' })))).status).toBe(401);
    expect((await read(await signWith(keys.ec, claims({ aud: 'tollgate-admin' })))).status).toBe(401);
    expect((await read(await signWith(keys.ec, claims({ exp: now() - 120 })))).status).toBe(401);
    expect((await read(await signWith(keys.ec, claims({ scope: 'audit:read' })))).status).toBe(403);
  });

  test('HS/RS confusion: an HS256 token keyed with the RSA public key is refused, as is the shared-secret kind', async () => {
    const pem = await exportSPKI((await importJWK(keys.rsa.jwk, 'RS256')) as CryptoKey);
    const confused = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: keys.rsa.kid }).sign(new TextEncoder().encode(pem));
    const res = await read(confused);
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/algorithm/);
    expect((await read(await hsToken({ iss: ISSUER, aud: AUDIENCE }, { secret: ADMIN_SECRET }))).status).toBe(401);
  });

  test('a token whose key id the provider never published is refused', async () => {
    const stranger = await providerKey('ES256', 'unknown-kid');
    const res = await read(await signWith(stranger, claims()));
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/No key/);
  });

  test('key rotation: a new key works as soon as the provider publishes it; a withdrawn key stops working', async () => {
    const next = await providerKey('ES256', 'ec-2');
    const newToken = await signWith(next, claims());
    const oldToken = await signWith(keys.ec, claims());
    expect((await read(newToken)).status).toBe(401);
    idp.publish([next, keys.ed, keys.rsa]);
    expect((await read(newToken)).status).toBe(200);
    expect((await read(oldToken)).status).toBe(401);
    expect((await read(await signWith(keys.ed, claims()))).status).toBe(200);
    idp.publish(Object.values(keys));
  });
});

describe('admin auth configuration', () => {
  const base = { TOLLGATE_DB: ':memory:' };
  test('refuses ambiguous or incomplete settings, naming the variable', () => {
    expect(() => parseConfig({ ...base, TOLLGATE_ADMIN_JWT_SECRET: ADMIN_SECRET, TOLLGATE_ADMIN_JWKS_URL: 'https://idp.test/jwks' })).toThrow(/TOLLGATE_ADMIN_JWKS_URL: set either/);
    expect(() => parseConfig({ ...base, TOLLGATE_ADMIN_JWKS_URL: 'https://idp.test/jwks' })).toThrow(/TOLLGATE_ADMIN_ISSUER: is required/);
    expect(() => parseConfig({ ...base, TOLLGATE_ADMIN_JWT_SECRET: 'short' })).toThrow(/TOLLGATE_ADMIN_JWT_SECRET: must be at least 32/);
    expect(() => parseConfig({ ...base, TOLLGATE_ADMIN_JWKS_URL: 'ftp://idp.test/jwks', TOLLGATE_ADMIN_ISSUER: 'i', TOLLGATE_ADMIN_AUDIENCE: 'a' })).toThrow(/TOLLGATE_ADMIN_JWKS_URL/);
    expect(parseConfig({ ...base, TOLLGATE_ADMIN_JWT_SECRET: '' }).TOLLGATE_ADMIN_JWT_SECRET).toBeUndefined();
  });
});
