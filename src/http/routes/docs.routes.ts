import { Hono } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import { buildOpenApiDocument, type OpenApiDocument } from './docs-spec';

/** Nothing on the docs page may come from elsewhere: Swagger UI's files are served from here. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tollgate API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/** validatorUrl: null — Swagger UI would otherwise send the spec to validator.swagger.io. */
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null, persistAuthorization: false });\n`;

const TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', png: 'image/png' };

/** `GET /openapi.json` (built once, on first request) and `GET /docs` (Swagger UI from the installed package). */
export function docsRoutes(adminApi: OpenAPIHono<AppEnv>): Hono<AppEnv> {
  let document: OpenApiDocument | null = null;
  return new Hono<AppEnv>()
    .get('/openapi.json', (c) => c.json((document ??= buildOpenApiDocument(adminApi))))
    .get('/docs', (c) => {
      c.header('content-security-policy', CSP);
      return c.html(PAGE);
    })
    .get('/docs/init.js', (c) => c.body(INIT, 200, { 'content-type': TYPES.js }))
    .get('/docs/:file', async (c) => {
      const file = c.req.param('file');
      const bytes = (await c.var.deps.docsAsset?.(file)) ?? null;
      if (!bytes) return c.notFound();
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream', 'cache-control': 'public, max-age=86400' });
    });
}
