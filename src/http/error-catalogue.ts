import type { ErrorCode } from '../domain/errors';

interface CatalogueEntry {
  status: number;
  /** OpenAI error `type`, chosen so the `openai` SDK raises the matching exception class. */
  openaiType: string;
  title: string;
}

/** Every error code's HTTP status and public wording. The single source for both error shapes. */
export const ERROR_CATALOGUE: Record<ErrorCode, CatalogueEntry> = {
  missing_api_key: { status: 401, openaiType: 'invalid_request_error', title: 'Missing API key' },
  invalid_api_key: { status: 401, openaiType: 'invalid_request_error', title: 'Invalid API key' },
  key_revoked: { status: 401, openaiType: 'invalid_request_error', title: 'API key revoked' },
  key_expired: { status: 401, openaiType: 'invalid_request_error', title: 'API key expired' },
  customer_suspended: { status: 403, openaiType: 'permission_error', title: 'Customer suspended' },
  model_not_allowed: { status: 403, openaiType: 'permission_error', title: 'Model not allowed for this key' },
  model_not_found: { status: 404, openaiType: 'invalid_request_error', title: 'Model not found' },
  no_backend: { status: 503, openaiType: 'server_error', title: 'No backend configured' },
  invalid_request: { status: 400, openaiType: 'invalid_request_error', title: 'Invalid request' },
  request_too_large: { status: 413, openaiType: 'invalid_request_error', title: 'Request too large' },
  not_found: { status: 404, openaiType: 'invalid_request_error', title: 'Not found' },
  conflict: { status: 409, openaiType: 'invalid_request_error', title: 'Conflict' },
  upstream_unavailable: { status: 502, openaiType: 'server_error', title: 'Model backend unavailable' },
  upstream_timeout: { status: 504, openaiType: 'server_error', title: 'Model backend timed out' },
  upstream_error: { status: 502, openaiType: 'server_error', title: 'Model backend error' },
  internal_error: { status: 500, openaiType: 'server_error', title: 'Internal error' },
};
