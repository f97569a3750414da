import { Hono } from 'hono';
import { listModels } from '../../db/repos/models.repo';
import type { AppEnv } from '../../context';
import type { LimitView } from '../../services/limits/types';
import { monthStart, parseTime, queryUsage, usageLineJson } from '../../services/usage.service';

/** `GET /v1/models` (what this key may call, OpenAI list shape) and `GET /v1/usage` (the caller's own usage). */
export const accountRoutes = new Hono<AppEnv>()
  .get('/models', async (c) => {
    const { deps, caller } = c.var;
    const all = await listModels(deps.db);
    const allowed = caller.allowedModels;
    const data = all
      .filter(({ model }) => !allowed || allowed.includes(model.name))
      .map(({ model }) => ({ id: model.name, object: 'model', created: Math.floor(model.createdAt / 1000), owned_by: 'tollgate' }));
    return c.json({ object: 'list', data });
  })
  .get('/usage', async (c) => {
    const { deps, caller } = c.var;
    const from = parseTime(c.req.query('from'), 'from') ?? monthStart(deps.now());
    const to = parseTime(c.req.query('to'), 'to') ?? deps.now() + 1;
    // Every call this customer finished is readable before the totals are summed (Workers copy rows to D1).
    await deps.ledger.caughtUp(caller.customerId);
    const customer = await queryUsage(deps.db, { customerId: caller.customerId, from, to }, ['model', 'day']);
    const key = await queryUsage(deps.db, { keyId: caller.keyId, from, to }, []);
    const limits = await deps.limiter.describe(caller);
    return c.json({
      object: 'usage',
      customer_id: caller.customerId,
      key_id: caller.keyId,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      totals: usageLineJson(customer.totals),
      key_totals: usageLineJson(key.totals),
      lines: customer.lines.map(usageLineJson),
      limits: limits.map(limitJson),
    });
  });

function limitJson(v: LimitView) {
  return {
    name: v.name, kind: v.kind, scope: v.scope, unit: v.unit, limit: v.limit, used: v.used, reserved: v.reserved,
    remaining: v.remaining, resets_at: v.resetsAt, ...(v.mode ? { mode: v.mode, overage: v.overage } : {}),
  };
}
