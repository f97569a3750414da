import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import { addModel, getModel, getModelsPage, modelVersion, removeModel, updateModel, type BackendInput } from '../../services/models.service';
import { IfMatch, ModelCreate, ModelUpdate, PageQuery, pathParam } from './requests';
import { adminRoute, auditOf, ifMatch, jsonResponse, setEtag } from './route';
import { listOf, Model } from './schemas';
import { listJson, modelJson } from './views';

const ModelList = listOf(Model, 'ModelList');
const ModelParam = pathParam('model', 'public model name (URL-encode a / in it)');
const tags = ['models'];
const json = <T>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });

type BackendBody = z.infer<typeof ModelCreate>['backends'][number];
const backendInput = (b: BackendBody): BackendInput => ({
  protocol: b.protocol,
  url: b.url,
  upstreamModel: b.upstream_model,
  credentialEnv: b.credential_env,
  timeoutMs: b.timeout_ms,
  weight: b.weight,
  priority: b.priority,
});

/** `/admin/v1/models`: publish model names and their backends; list, show, change, remove. */
export const modelsApi = new OpenAPIHono<AppEnv>()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/models',
      operationId: 'listModels',
      summary: 'List models and their backends, by name',
      tags,
      scope: 'admin:read',
      cli: 'models list',
      request: { query: PageQuery },
      responses: { 200: jsonResponse(ModelList, 'A page of models') },
    }),
    async (c) => c.json(listJson(await getModelsPage(c.var.deps, c.req.valid('query')), modelJson), 200),
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/models',
      operationId: 'createModel',
      summary: 'Add a model with its backends',
      tags,
      scope: 'models:write',
      cli: 'models add',
      problems: [409],
      request: { body: json(ModelCreate) },
      responses: { 201: jsonResponse(Model, 'The new model', true) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const entry = await addModel(c.var.deps, { name: body.name, units: body.units, unitHeader: body.unit_header, backends: body.backends.map(backendInput) }, auditOf(c));
      setEtag(c, modelVersion(entry));
      return c.json(modelJson(entry), 201);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/models/{model}',
      operationId: 'getModel',
      summary: 'Show a model and its backends',
      tags,
      scope: 'admin:read',
      problems: [404],
      request: { params: ModelParam },
      responses: { 200: jsonResponse(Model, 'The model', true) },
    }),
    async (c) => {
      const entry = await getModel(c.var.deps, c.req.valid('param').model);
      setEtag(c, modelVersion(entry));
      return c.json(modelJson(entry), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'patch',
      path: '/models/{model}',
      operationId: 'updateModel',
      summary: 'Change how a model is metered and/or replace its backends, in one commit',
      tags,
      scope: 'models:write',
      problems: [404, 412, 428],
      request: { params: ModelParam, headers: IfMatch, body: json(ModelUpdate) },
      responses: { 200: jsonResponse(Model, 'The model as changed', true) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const patch = { units: body.units, unitHeader: body.unit_header, backends: body.backends?.map(backendInput) };
      const entry = await updateModel(c.var.deps, c.req.valid('param').model, patch, { ifVersion: ifMatch(c), audit: auditOf(c) });
      setEtag(c, modelVersion(entry));
      return c.json(modelJson(entry), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'delete',
      path: '/models/{model}',
      operationId: 'deleteModel',
      summary: 'Remove a model and its backends; calls to it fail from the next request',
      tags,
      scope: 'models:write',
      cli: 'models remove',
      problems: [404, 412],
      request: { params: ModelParam, headers: IfMatch.partial() },
      responses: { 204: { description: 'Removed' } },
    }),
    async (c) => {
      await removeModel(c.var.deps, c.req.valid('param').model, auditOf(c), ifMatch(c));
      return c.body(null, 204);
    },
  );
