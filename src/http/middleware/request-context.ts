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
    // Picked up by c.json/c.body answers; proxied answers and errors set it themselves. (Reading c.res
    // after next() would turn the Node adapter's fast response into a full Response object.)
    c.header('x-request-id', requestId);
    await next();
  };
}
