/** The closed list of failure codes services may raise; http/error-catalogue.ts maps each to a status. */
export type ErrorCode =
  | 'missing_api_key'
  | 'invalid_api_key'
  | 'key_revoked'
  | 'key_expired'
  | 'customer_suspended'
  | 'model_not_allowed'
  | 'model_not_found'
  | 'no_backend'
  | 'invalid_request'
  | 'request_too_large'
  | 'not_found'
  | 'conflict'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'upstream_error'
  | 'rate_limited'
  | 'concurrency_limited'
  | 'tokens_limited'
  | 'insufficient_quota'
  | 'client_closed'
  | 'unauthorized'
  | 'forbidden'
  | 'precondition_failed'
  | 'precondition_required'
  | 'unsupported_media_type'
  | 'admin_disabled'
  | 'billing_not_configured'
  | 'billing_not_set_up'
  | 'billing_upstream_error'
  | 'invalid_signature'
  | 'internal_error';

/** A failure a caller can act on. `param` names the offending field where there is one. */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
    /** Extra response headers (limit refusals carry Retry-After and the rate-limit fields). */
    readonly headers: ReadonlyArray<readonly [string, string]> = [],
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** One offending field of a request and what is wrong with it (`field` is a dotted path, e.g. `backends.0.url`). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** A request that failed validation; every offending field is listed, not only the first. */
export class ValidationError extends ServiceError {
  constructor(
    message: string,
    readonly fields: readonly FieldIssue[],
  ) {
    super('invalid_request', message, fields[0]?.field ?? null);
    this.name = 'ValidationError';
  }
}
