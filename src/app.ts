import { Hono } from 'hono';
import type { AppEnv, Deps } from './context';
import { createAdminApi } from './http/admin';
import { errorResponse, onError } from './http/errors';
import { requireAdmin } from './http/middleware/admin-auth';
import { requireApiKey } from './http/middleware/auth';
import { requestContext } from './http/middleware/request-context';
import { accountRoutes } from './http/routes/account.routes';
import { docsRoutes } from './http/routes/docs.routes';
import { inferRoutes, predictRoutes } from './http/routes/inference.routes';
import { openaiRoutes } from './http/routes/openai.routes';
import { opsRoutes } from './http/routes/ops.routes';
import { stripeWebhookRoutes } from './http/routes/stripe-webhook.routes';

/** The Tollgate HTTP app. Runtime-free: each entry builds `deps` and serves `app.fetch`. */
export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext(deps));
  app.route('/', opsRoutes);
  // Stripe webhooks authenticate by signature, not API key, so they are mounted outside /v1 and /v2.
  app.route('/', stripeWebhookRoutes);
  app.use('/v1/*', requireApiKey);
  app.use('/v2/*', requireApiKey);
  app.route('/v1', openaiRoutes);
  app.route('/v1', accountRoutes);
  app.route('/v1/models', predictRoutes);
  app.route('/v2/models', inferRoutes);
  // The admin API's auth and validation run on /admin/* only; the keyed hot path never sees them.
  const adminApi = createAdminApi();
  app.use('/admin/*', requireAdmin);
  app.route('/admin/v1', adminApi);
  app.route('/', docsRoutes(adminApi));
  app.notFound((c) => errorResponse(c, 'not_found', `No route for ${c.req.method} ${c.req.path}.`));
  app.onError(onError);
  return app;
}
