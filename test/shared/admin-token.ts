import { SignJWT, type JWTPayload } from 'jose';

/** The shared HS256 secret test gateways (Node and Workers) verify admin tokens with. */
export const ADMIN_SECRET = 'test-admin-secret-0123456789abcdef-0123456789';
/** Every admin scope. */
export const ALL_SCOPES = ['admin:read', 'keys:write', 'customers:write', 'plans:write', 'models:write', 'billing:run', 'audit:read'];

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
