import { SignJWT, type JWTPayload } from 'jose';
import { startTestGateway, type TestGateway } from './gateway';

/** The shared HS256 secret test gateways verify admin tokens with. */
export const ADMIN_SECRET = 'test-admin-secret-0123456789abcdef-0123456789';
/** Every admin scope. */
export const ALL_SCOPES = ['admin:read', 'keys:write', 'customers:write', 'plans:write', 'models:write', 'billing:run', 'audit:read'];

/** A test gateway whose admin API accepts HS256 tokens signed with ADMIN_SECRET (issuer/audience defaults). */
export function startAdminGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  return startTestGateway({ TOLLGATE_ADMIN_JWT_SECRET: ADMIN_SECRET, ...env });
}

/** Signs an HS256 admin token with jose; every claim can be overridden or removed (set to undefined). */
export async function hsToken(
  claims: JWTPayload & { scope?: string } = {},
  options: { secret?: string; alg?: string; header?: Record<string, unknown> } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { sub: 'admin@test', iss: 'tollgate', aud: 'tollgate-admin', iat: now, exp: now + 600, scope: ALL_SCOPES.join(' '), ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT', ...options.header })
    .sign(new TextEncoder().encode(options.secret ?? ADMIN_SECRET));
}

/** An admin HTTP call's answer, body parsed. */
export interface AdminAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A client for `gw`'s admin API with `token`: `call(method, path, body?, headers?)`. */
export function adminClient(base: string, token: string) {
  return async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<AdminAnswer<T>> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
}

let counter = 0;
/** A unique name for a test's own records. */
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 7)}`;
