import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../context';
import { ServiceError, type ErrorCode } from '../domain/errors';
import { NO_UNITS } from '../backends/types';
import { recordCall } from '../services/ledger';
import { ERROR_CATALOGUE } from './error-catalogue';

/** Paths whose errors take OpenAI's shape, so the `openai` SDK raises the right exception. */
const OPENAI_PATHS = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/models']);

/** The app's one error handler: maps any error to its catalogue status and the route's error shape. */
export async function onError(error: Error, c: Context<AppEnv>): Promise<Response> {
  const known = error instanceof ServiceError ? error : null;
  const code: ErrorCode = known?.code ?? 'internal_error';
  const entry = ERROR_CATALOGUE[code];
  const message = known ? known.message : 'An internal error occurred.';
  const deps = c.var.deps;
  if (!known) deps?.log('error', 'unhandled error', { requestId: c.var.requestId, error: String(error?.stack ?? error) });
  const call = c.var.call;
  if (call && !call.recorded && deps) {
    try {
      await recordCall(deps.ledger, call, { status: entry.status, units: NO_UNITS, errorCode: code, finishedAt: deps.now() });
    } catch (ledgerError) {
      deps.log('error', 'ledger write failed', { requestId: c.var.requestId, error: String(ledgerError) });
    }
  }
  return errorResponse(c, code, message, known?.param ?? null);
}

/** An error response in the shape the path calls for, with the request id. */
export function errorResponse(c: Context<AppEnv>, code: ErrorCode, message: string, param: string | null = null): Response {
  const entry = ERROR_CATALOGUE[code];
  const requestId = c.var.requestId;
  const status = entry.status as ContentfulStatusCode;
  c.header('x-request-id', requestId);
  if (OPENAI_PATHS.has(c.req.path)) {
    return c.json({ error: { message, type: entry.openaiType, param, code } }, status);
  }
  c.header('content-type', 'application/problem+json');
  return c.body(
    JSON.stringify({ type: `urn:tollgate:error:${code}`, title: entry.title, status: entry.status, detail: message, code, request_id: requestId, ...(param ? { param } : {}) }),
    status,
  );
}
