import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../context';

/** The key from `Authorization: Bearer …` or `x-api-key`. */
function presentedKey(req: Request): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '')?.[1]?.trim();
  return bearer ?? req.headers.get('x-api-key') ?? undefined;
}

/** Verifies the API key; first asks whether admin data changed elsewhere so caches never serve stale keys. */
export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  // c.get, not c.var: Hono builds a fresh object on every c.var access, a measurable cost per request.
  const deps = c.get('deps');
  deps.changes.poll();
  const caller = await deps.keys.verify(presentedKey(c.req.raw));
  c.set('caller', caller);
  await next();
  // Every keyed answer carries the rate-limit fields; calls that reserved already have them.
  const call = c.get('call');
  if (!call || call.limitHeaders === null) {
    for (const [name, value] of await deps.limiter.peekHeaders(caller)) c.res.headers.set(name, value);
  }
};
