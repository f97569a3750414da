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
  | 'internal_error';

/** A failure a caller can act on. `param` names the offending field where there is one. */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}
