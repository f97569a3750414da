import { OpenAPIHono } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import type { AppEnv } from '../../context';
import { ServiceError, ValidationError, type FieldIssue } from '../../domain/errors';
import { accountsApi } from './accounts.routes';
import { billingApi } from './billing.routes';
import { customersApi } from './customers.routes';
import { keysApi } from './keys.routes';
import { modelsApi } from './models.routes';
import { plansApi } from './plans.routes';
import { reportsApi } from './reports.routes';

/** Every offending field of a failed validation, by dotted path (unknown fields each named). */
function fieldIssues(error: ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ field: path ? `${path}.${key}` : key, message: 'unknown field' }));
    return [{ field: path || '(body)', message: issue.message }];
  });
}

/** Turns a schema failure into the catalogue's errors: a missing If-Match is 428, anything else 400 with its fields. */
function refuseInvalid(target: string, error: ZodError): never {
  const fields = fieldIssues(error);
  if (target === 'header' && fields.some((f) => f.field === 'if-match')) {
    throw new ServiceError('precondition_required', 'Updates need "If-Match: <ETag>" from a GET of the resource, so two admins cannot overwrite each other.');
  }
  const where = target === 'json' ? 'body' : target === 'param' ? 'path' : target;
  throw new ValidationError(`The request ${where} is not valid: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}.`, fields);
}

/**
 * The admin API, mounted under `/admin/v1` behind `requireAdmin`. Routes are `@hono/zod-openapi`
 * definitions, so one schema validates requests and writes `/openapi.json`.
 */
export function createAdminApi(): OpenAPIHono<AppEnv> {
  const api = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) refuseInvalid(result.target, result.error);
    },
  });
  for (const routes of [customersApi, accountsApi, plansApi, keysApi, modelsApi, reportsApi, billingApi]) api.route('/', routes);
  return api;
}
