import { ADMIN_SECRET } from '../shared/admin-token';
import { startTestGateway, type TestGateway } from './gateway';

export { ADMIN_SECRET, ALL_SCOPES, hsToken } from '../shared/admin-token';

/** A test gateway whose admin API accepts HS256 tokens signed with ADMIN_SECRET (issuer/audience defaults). */
export function startAdminGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  return startTestGateway({ TOLLGATE_ADMIN_JWT_SECRET: ADMIN_SECRET, ...env });
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
