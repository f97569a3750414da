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
  rate_limited: { status: 429, openaiType: 'requests', title: 'Rate limit reached' },
  concurrency_limited: { status: 429, openaiType: 'requests', title: 'Too many requests in flight' },
  tokens_limited: { status: 429, openaiType: 'tokens', title: 'Token rate limit reached' },
  insufficient_quota: { status: 429, openaiType: 'insufficient_quota', title: 'Quota exhausted' },
  // nginx's convention; only the ledger ever sees it, the client is gone.
  client_closed: { status: 499, openaiType: 'invalid_request_error', title: 'Client closed request' },
  unauthorized: { status: 401, openaiType: 'invalid_request_error', title: 'Unauthorized' },
  forbidden: { status: 403, openaiType: 'permission_error', title: 'Forbidden' },
  precondition_failed: { status: 412, openaiType: 'invalid_request_error', title: 'Precondition failed' },
  precondition_required: { status: 428, openaiType: 'invalid_request_error', title: 'Precondition required' },
  unsupported_media_type: { status: 415, openaiType: 'invalid_request_error', title: 'Unsupported media type' },
  admin_disabled: { status: 503, openaiType: 'server_error', title: 'Admin API disabled' },
  billing_not_configured: { status: 503, openaiType: 'server_error', title: 'Stripe is not configured' },
  billing_not_set_up: { status: 409, openaiType: 'invalid_request_error', title: 'Billing meters are not set up' },
  billing_upstream_error: { status: 502, openaiType: 'server_error', title: 'Stripe refused or failed' },
  invalid_signature: { status: 400, openaiType: 'invalid_request_error', title: 'Invalid webhook signature' },
  internal_error: { status: 500, openaiType: 'server_error', title: 'Internal error' },
};
