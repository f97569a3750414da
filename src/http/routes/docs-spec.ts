import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import { ADMIN_SCOPES } from '../../services/admin-token.service';
import { registerPublicApi } from './docs-public-spec';

/** A JSON object: the generated OpenAPI 3.1 document. */
export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

/**
 * The OpenAPI 3.1 document of the admin API (from its route definitions, under `/admin/v1`) and of the
 * public API (registered descriptions), with their security schemes.
 */
export function buildOpenApiDocument(adminApi: OpenAPIHono<AppEnv>): OpenApiDocument {
  const spec = new OpenAPIHono<AppEnv>();
  spec.route('/admin/v1', adminApi);
  const registry = spec.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'adminJwt', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: `Admin JWT (HS256 with TOLLGATE_ADMIN_JWT_SECRET, or from the identity provider at TOLLGATE_ADMIN_JWKS_URL). Scopes: ${ADMIN_SCOPES.join(', ')}; each operation lists the one it needs.`,
  });
  registry.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer', description: 'A Tollgate API key (tg_live_… or tg_test_…).' });
  registry.registerComponent('securitySchemes', 'apiKeyHeader', { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'The API key in x-api-key.' });
  registerPublicApi(registry);
  return spec.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Tollgate',
      version: '1',
      description: 'Metered API gateway. Public routes take an API key; `/admin/v1` takes an admin JWT. Errors are problem+json (OpenAI-shaped on OpenAI routes) with a stable `code`.',
    },
    tags: [
      { name: 'customers' },
      { name: 'plans' },
      { name: 'keys' },
      { name: 'models' },
      { name: 'usage' },
      { name: 'alerts' },
      { name: 'audit' },
      { name: 'public', description: 'API-key routes' },
      { name: 'ops' },
    ],
  }) as unknown as OpenApiDocument;
}
