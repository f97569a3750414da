import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import { createPlan, getPlan, getPlansPage, planVersion, updatePlan } from '../../services/plans.service';
import { IfMatch, PageQuery, pathParam, PlanCreate, PlanUpdate } from './requests';
import { adminRoute, auditOf, ifMatch, jsonResponse, setEtag } from './route';
import { listOf, Plan } from './schemas';
import { listJson, planJson } from './views';

const PlanList = listOf(Plan, 'PlanList');
const PlanParam = pathParam('plan', 'plan id or name');
const tags = ['plans'];

/** `/admin/v1/plans`: list, create, show, update (rename, replace limits). */
export const plansApi = new OpenAPIHono<AppEnv>()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/plans',
      operationId: 'listPlans',
      summary: 'List plans by name',
      tags,
      scope: 'admin:read',
      cli: 'plans list',
      request: { query: PageQuery },
      responses: { 200: jsonResponse(PlanList, 'A page of plans') },
    }),
    async (c) => c.json(listJson(await getPlansPage(c.var.deps, c.req.valid('query')), planJson), 200),
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/plans',
      operationId: 'createPlan',
      summary: 'Create a plan (no limits = unlimited)',
      tags,
      scope: 'plans:write',
      cli: 'plans create',
      problems: [409],
      request: { body: { required: true, content: { 'application/json': { schema: PlanCreate } } } },
      responses: { 201: jsonResponse(Plan, 'The new plan', true) },
    }),
    async (c) => {
      const plan = await createPlan(c.var.deps, c.req.valid('json'), auditOf(c));
      setEtag(c, planVersion(plan));
      return c.json(planJson(plan), 201);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/plans/{plan}',
      operationId: 'getPlan',
      summary: 'Show a plan',
      tags,
      scope: 'admin:read',
      cli: 'plans show',
      problems: [404],
      request: { params: PlanParam },
      responses: { 200: jsonResponse(Plan, 'The plan', true) },
    }),
    async (c) => {
      const plan = await getPlan(c.var.deps, c.req.valid('param').plan);
      setEtag(c, planVersion(plan));
      return c.json(planJson(plan), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'patch',
      path: '/plans/{plan}',
      operationId: 'updatePlan',
      summary: 'Rename a plan or replace its limits (applies from the next request)',
      tags,
      scope: 'plans:write',
      cli: 'plans update',
      problems: [404, 409, 412, 428],
      request: { params: PlanParam, headers: IfMatch, body: { required: true, content: { 'application/json': { schema: PlanUpdate } } } },
      responses: { 200: jsonResponse(Plan, 'The plan as changed', true) },
    }),
    async (c) => {
      const plan = await updatePlan(c.var.deps, c.req.valid('param').plan, c.req.valid('json'), { ifVersion: ifMatch(c), audit: auditOf(c) });
      setEtag(c, planVersion(plan));
      return c.json(planJson(plan), 200);
    },
  );
