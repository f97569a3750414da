import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import type { UsageGroup } from '../../db/repos/usage.repo';
import { getAuditLog } from '../../services/audit.service';
import { parseTime, queryUsage, resolveUsageFilter, usageLineJson } from '../../services/usage.service';
import { AuditQuery, UsageQuery } from './requests';
import { adminRoute, jsonResponse } from './route';
import { AuditEntry, listOf, UsageReport } from './schemas';
import { auditJson, listJson } from './views';

const AuditList = listOf(AuditEntry, 'AuditList');

/** `/admin/v1/usage` (ledger totals and a time series) and `/admin/v1/audit` (who changed what). */
export const reportsApi = new OpenAPIHono<AppEnv>()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/usage',
      operationId: 'getUsage',
      summary: 'Usage totals and a series by hour, day or month, filtered by customer, key, model, status and time',
      tags: ['usage'],
      scope: 'admin:read',
      cli: 'usage',
      problems: [404],
      request: { query: UsageQuery },
      responses: { 200: jsonResponse(UsageReport, 'Totals and the series') },
    }),
    async (c) => {
      const { interval = 'day', group_by, ...input } = c.req.valid('query');
      const deps = c.var.deps;
      const filter = await resolveUsageFilter(deps, input);
      const groupBy = (group_by?.split(',') ?? []) as Array<'customer' | 'key' | 'model'>;
      // One customer's report includes every call it committed so far (on Workers, copied to D1 first).
      if (filter.customerId) await deps.ledger.caughtUp(filter.customerId);
      const { totals, lines } = await queryUsage(deps.db, filter, [interval, ...groupBy] as UsageGroup[]);
      const series = lines.map((line) => {
        const { hour, day, month, ...rest } = usageLineJson(line) as ReturnType<typeof usageLineJson> & Record<'hour' | 'day' | 'month', string | undefined>;
        return { bucket: (hour ?? day ?? month)!, ...rest };
      });
      return c.json(
        {
          object: 'usage_report' as const,
          from: new Date(filter.from).toISOString(),
          to: new Date(filter.to).toISOString(),
          interval,
          group_by: groupBy,
          totals: usageLineJson(totals),
          series,
        },
        200,
      );
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/audit',
      operationId: 'listAuditEntries',
      summary: 'The audit log, newest first: every change from the admin API and the CLI',
      tags: ['audit'],
      scope: 'audit:read',
      request: { query: AuditQuery },
      responses: { 200: jsonResponse(AuditList, 'A page of audit entries') },
    }),
    async (c) => {
      const { cursor, limit, actor, action, target_type, target_id, request_id, from, to } = c.req.valid('query');
      const filter = { actor, action, targetType: target_type, targetId: target_id, requestId: request_id, from: parseTime(from, 'from'), to: parseTime(to, 'to') };
      return c.json(listJson(await getAuditLog(c.var.deps, filter, { cursor, limit }), auditJson), 200);
    },
  );
