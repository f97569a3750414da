import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Deps } from '../../context';
import { newId } from '../../domain/ids';

/** Hands every request its deps and a time-ordered request id (also the ledger row's id). */
export function requestContext(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = newId('req');
    c.set('deps', deps);
    c.set('requestId', requestId);
    c.set('call', undefined);
    await next();
    if (!c.res.headers.has('x-request-id')) c.res.headers.set('x-request-id', requestId);
  };
}
