import { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import type { AppEnv } from '../../context';

/** `/healthz` (the process answers) and `/readyz` (the store answers too). */
export const opsRoutes = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json({ status: 'ok' }))
  .get('/readyz', async (c) => {
    try {
      await c.var.deps.db.run(sql`select 1`);
      return c.json({ status: 'ready' });
    } catch (error) {
      return c.json({ status: 'not ready', reason: String(error) }, 503);
    }
  });
