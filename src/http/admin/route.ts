import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { z } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import type { AuditContext } from '../../services/audit.service';
import type { AdminScope } from '../../services/admin-token.service';
import { requireScope } from '../middleware/admin-auth';
import { Problem } from './schemas';

const PROBLEM_WHEN: Record<number, string> = {
  400: 'The request is not valid (problem+json lists the offending fields).',
  401: 'No admin token, or one that is expired, not yet valid, for another issuer or audience, or badly signed.',
  403: 'The token lacks the scope this operation needs.',
  404: 'No such resource.',
  409: 'Conflicts with the current state (a taken name, a key already rolled).',
  412: 'If-Match names a version that is no longer current.',
  428: 'Updates need If-Match.',
  503: 'The admin API is off (no admin auth configured).',
};

const problems = (statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: PROBLEM_WHEN[s], content: { 'application/problem+json': { schema: Problem } } }]),
  );

/** The ETag response header of a single resource. */
export const ETAG_HEADER = { ETag: { description: 'Version tag; send it back as If-Match to update.', schema: { type: 'string' as const } } };

/** A JSON response declaration. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string, etag = false) => ({
  description,
  content: { 'application/json': { schema } },
  ...(etag ? { headers: ETAG_HEADER } : {}),
});

/**
 * An admin operation: the scope it needs (enforced and declared in the spec), the CLI verb that does the
 * same (`x-cli`, checked by a test against the CLI), and the problem+json answers it can give.
 */
export function adminRoute<const R extends Omit<RouteConfig, 'middleware' | 'security'>>(
  config: R & { scope: AdminScope; cli?: string; problems?: number[] },
) {
  const { scope, cli, problems: extra = [], ...route } = config;
  return createRoute({
    ...route,
    security: [{ adminJwt: [scope] }],
    middleware: [requireScope(scope)] as const,
    ...(cli ? { 'x-cli': cli } : {}),
    'x-scope': scope,
    responses: { ...route.responses, ...problems([400, 401, 403, 503, ...extra]) },
  } as unknown as R & { middleware: [ReturnType<typeof requireScope>] });
}

/** Who is acting and for which request: the audit context services take. */
export const auditOf = (c: Context<AppEnv>): AuditContext => ({ actor: c.var.admin.subject, requestId: c.var.requestId });

/** The versions an `If-Match` accepts (`*` = any, so undefined); weak tags never match (RFC 9110 §13.1.1). */
export function ifMatch(c: Context<AppEnv>): string[] | undefined {
  const header = c.req.header('if-match')?.trim();
  if (!header || header === '*') return undefined;
  return header.split(',').map((t) => t.trim().replace(/^"(.*)"$/, '$1'));
}

/** Sets the ETag of the resource being answered. */
export const setEtag = (c: Context<AppEnv>, tag: string) => c.header('ETag', `"${tag}"`);
