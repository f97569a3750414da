import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../context';

/** The key from `Authorization: Bearer …` or `x-api-key`. */
function presentedKey(req: Request): string | undefined {
  const auth = req.headers.get('authorization');
  if (auth) return /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  return req.headers.get('x-api-key') ?? undefined;
}

/** Verifies the API key; first asks whether admin data changed elsewhere so caches never serve stale keys. */
export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { deps } = c.var;
  deps.changes.poll();
  c.set('caller', await deps.keys.verify(presentedKey(c.req.raw)));
  await next();
};
