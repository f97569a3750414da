import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../context';
import { ServiceError } from '../../domain/errors';
import type { AdminScope } from '../../services/admin-token.service';

const REALM = 'Bearer realm="tollgate-admin"';

/** `error_description` must be a quoted string of printable ASCII without quotes or backslashes. */
const quoted = (text: string) => `"${text.replace(/[^\x20-\x7e]|["\\]/g, '')}"`;

/**
 * Guards everything under `/admin/`: no admin auth configured → 503 `admin_disabled` (never open);
 * otherwise a valid bearer JWT is required and its principal is set as `c.var.admin`.
 */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const verifier = c.var.deps.adminAuth;
  if (!verifier) {
    throw new ServiceError(
      'admin_disabled',
      'The admin API is off. Set TOLLGATE_ADMIN_JWT_SECRET (HS256), or TOLLGATE_ADMIN_JWKS_URL with TOLLGATE_ADMIN_ISSUER and TOLLGATE_ADMIN_AUDIENCE.',
    );
  }
  const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
  if (!token) {
    c.header('WWW-Authenticate', REALM);
    throw new ServiceError('unauthorized', 'The admin API needs "Authorization: Bearer <JWT>".');
  }
  try {
    c.set('admin', await verifier.verify(token));
  } catch (error) {
    if (error instanceof ServiceError) c.header('WWW-Authenticate', `${REALM}, error="invalid_token", error_description=${quoted(error.message)}`);
    throw error;
  }
  await next();
};

/** Lets the request through only if the admin token carries `scope` (403 `forbidden` otherwise). */
export function requireScope(scope: AdminScope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.var.admin.scopes.has(scope)) {
      c.header('WWW-Authenticate', `${REALM}, error="insufficient_scope", scope="${scope}"`);
      throw new ServiceError('forbidden', `This operation needs the '${scope}' scope.`);
    }
    await next();
  };
}
