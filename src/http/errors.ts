import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../context';
import { ServiceError, ValidationError, type ErrorCode, type FieldIssue } from '../domain/errors';
import { NO_UNITS } from '../backends/types';
import { recordCall } from '../services/ledger';
import { ERROR_CATALOGUE } from './error-catalogue';

/** Paths whose errors take OpenAI's shape, so the `openai` SDK raises the right exception. */
const OPENAI_PATHS = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/models']);

/** The app's one error handler: maps any error to its catalogue status and the route's error shape. */
export async function onError(error: Error, c: Context<AppEnv>): Promise<Response> {
  const known = error instanceof ServiceError ? error : fromHttpException(error);
  const code: ErrorCode = known?.code ?? 'internal_error';
  const entry = ERROR_CATALOGUE[code];
  const message = known ? known.message : 'An internal error occurred.';
  const deps = c.var.deps;
  if (!known) deps?.log('error', 'unhandled error', { requestId: c.var.requestId, error: String(error?.stack ?? error) });
  const call = c.var.call;
  if (call && !call.recorded && deps) {
    try {
      await recordCall(deps, call, { status: entry.status, units: NO_UNITS, errorCode: code, finishedAt: deps.now() });
    } catch (ledgerError) {
      deps.log('error', 'ledger write failed', { requestId: c.var.requestId, error: String(ledgerError) });
    }
  }
  const limitHeaders = call?.limitHeaders ?? [];
  return errorResponse(c, code, message, known?.param ?? null, known?.headers.length ? known.headers : limitHeaders, offendingFields(known));
}

/** Hono's own 4xx refusals (malformed JSON body, unsupported media type) as catalogue errors. */
function fromHttpException(error: Error): ServiceError | null {
  if (!(error instanceof HTTPException) || error.status >= 500) return null;
  return new ServiceError(error.status === 415 ? 'unsupported_media_type' : 'invalid_request', error.message || 'The request is not valid.');
}

/** Every offending field of a validation failure (problem+json `errors`). */
function offendingFields(error: ServiceError | null): readonly FieldIssue[] {
  if (error instanceof ValidationError) return error.fields;
  return error?.code === 'invalid_request' && error.param ? [{ field: error.param, message: error.message }] : [];
}

/** An error response in the shape the path calls for, with the request id. */
export function errorResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  param: string | null = null,
  headers: ReadonlyArray<readonly [string, string]> = [],
  fields: readonly FieldIssue[] = [],
): Response {
  const entry = ERROR_CATALOGUE[code];
  const requestId = c.var.requestId;
  const status = entry.status as ContentfulStatusCode;
  c.header('x-request-id', requestId);
  for (const [name, value] of headers) c.header(name, value);
  if (OPENAI_PATHS.has(c.req.path)) {
    return c.json({ error: { message, type: entry.openaiType, param, code } }, status);
  }
  c.header('content-type', 'application/problem+json');
  return c.body(
    JSON.stringify({ type: `urn:tollgate:error:${code}`, title: entry.title, status: entry.status, detail: message, code, request_id: requestId, ...(param ? { param } : {}), ...(fields.length ? { errors: fields } : {}) }),
    status,
  );
}
