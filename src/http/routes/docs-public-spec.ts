import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import { Problem } from '../admin/schemas';

type Registry = OpenAPIHono<AppEnv>['openAPIRegistry'];

const OpenAIError = z
  .object({ error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string() }) })
  .openapi('OpenAIError');

const keyed: Array<Record<string, string[]>> = [{ apiKey: [] }, { apiKeyHeader: [] }];
const anyJson = (description: string) => ({ description, content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } });
const openaiErrors = { default: { description: 'OpenAI-shaped error (the openai SDK raises the matching class)', content: { 'application/json': { schema: OpenAIError } } } };
const problemErrors = { default: { description: 'problem+json error', content: { 'application/problem+json': { schema: Problem } } } };
const modelParam = z.object({ model: z.string().openapi({ param: { name: 'model', in: 'path' }, example: 'demo-chat' }) });

const OPENAI_ROUTES = [
  ['/v1/chat/completions', 'createChatCompletion', 'OpenAI chat completions; `stream: true` answers Server-Sent Events'],
  ['/v1/completions', 'createCompletion', 'OpenAI legacy completions, streaming or not'],
  ['/v1/embeddings', 'createEmbedding', 'OpenAI embeddings'],
] as const;

/**
 * Documents the public, API-key routes in the spec without touching their handlers: they are plain Hono
 * proxies on the hot path and stay free of schema validation (bodies stream through untouched).
 */
export function registerPublicApi(registry: Registry): void {
  const tags = ['public'];
  for (const [path, operationId, summary] of OPENAI_ROUTES) {
    registry.registerPath({
      method: 'post',
      path,
      operationId,
      summary,
      tags,
      security: keyed,
      request: { body: { required: true, content: { 'application/json': { schema: z.object({ model: z.string() }).passthrough() } } } },
      responses: { 200: anyJson('The backend\u2019s answer (or an SSE stream), metered'), ...openaiErrors },
    });
  }
  registry.registerPath({
    method: 'get',
    path: '/v1/models',
    operationId: 'listCallableModels',
    summary: 'The models this key may call (OpenAI list shape)',
    tags,
    security: keyed,
    responses: { 200: anyJson('{ object: "list", data: [...] }'), ...openaiErrors },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/usage',
    operationId: 'getOwnUsage',
    summary: 'The caller\u2019s own usage: customer totals, this key\u2019s totals, lines by model and day',
    tags,
    security: keyed,
    request: { query: z.object({ from: z.string().optional(), to: z.string().optional() }) },
    responses: { 200: anyJson('Usage report'), ...problemErrors },
  });
  for (const [path, operationId, summary] of [
    ['/v1/models/{model}/predict', 'predict', 'Any JSON body to a predict backend (TF Serving or plain JSON)'],
    ['/v2/models/{model}/infer', 'infer', 'KServe v2 / Open Inference Protocol'],
  ] as const) {
    registry.registerPath({
      method: 'post',
      path,
      operationId,
      summary,
      tags,
      security: keyed,
      request: { params: modelParam, body: { required: true, content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
      responses: { 200: anyJson('The backend\u2019s answer, streamed through'), ...problemErrors },
    });
  }
  for (const [path, operationId, summary] of [
    ['/healthz', 'healthz', 'Liveness: the process answers'],
    ['/readyz', 'readyz', 'Readiness: the store answers too'],
  ] as const) {
    registry.registerPath({ method: 'get', path, operationId, summary, tags: ['ops'], responses: { 200: anyJson('Status'), 503: anyJson('Not ready') } });
  }
}
