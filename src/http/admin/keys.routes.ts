import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import { parseDuration } from '../../domain/duration';
import { getKeysPage, keyVersion, updateKey } from '../../services/keys-admin.service';
import { createKey, getKey, revokeApiKey, rollApiKey } from '../../services/keys.service';
import { IfMatch, KeyCreate, KeyRoll, KeysQuery, KeyUpdate, pathParam } from './requests';
import { adminRoute, auditOf, ifMatch, jsonResponse, setEtag } from './route';
import { CreatedKey, Key, listOf, RolledKey } from './schemas';
import { keyJson, listJson } from './views';

const KeyList = listOf(Key, 'KeyList');
const KeyParam = pathParam('key', 'key id or unique display prefix');
const tags = ['keys'];
const time = (iso: string | null | undefined) => (iso === undefined ? undefined : iso === null ? null : Date.parse(iso));
const json = <T>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });

/** `/admin/v1/keys`: issue (secret shown once), list, show, update, revoke, roll with a grace period. */
export const keysApi = new OpenAPIHono<AppEnv>()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/keys',
      operationId: 'listKeys',
      summary: 'List keys, newest first (never secrets)',
      tags,
      scope: 'admin:read',
      cli: 'keys list',
      problems: [404],
      request: { query: KeysQuery },
      responses: { 200: jsonResponse(KeyList, 'A page of keys') },
    }),
    async (c) => {
      const { cursor, limit, ...filter } = c.req.valid('query');
      return c.json(listJson(await getKeysPage(c.var.deps, filter, { cursor, limit }), keyJson), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/keys',
      operationId: 'createKey',
      summary: 'Issue a key for a customer; the secret is in this answer only',
      tags,
      scope: 'keys:write',
      cli: 'keys create',
      problems: [404],
      request: { body: json(KeyCreate) },
      responses: { 201: jsonResponse(CreatedKey, 'The key and its secret (shown once)', true) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const created = await createKey(
        c.var.deps,
        body.customer,
        { name: body.name, environment: body.environment, allowedModels: body.allowed_models, expiresAt: time(body.expires_at), limitOverrides: body.limit_overrides },
        auditOf(c),
      );
      setEtag(c, keyVersion(created.key));
      return c.json({ key: keyJson(created.key), secret: created.secret }, 201);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/keys/{key}',
      operationId: 'getKey',
      summary: 'Show a key (never its secret)',
      tags,
      scope: 'admin:read',
      cli: 'keys show',
      problems: [404],
      request: { params: KeyParam },
      responses: { 200: jsonResponse(Key, 'The key', true) },
    }),
    async (c) => {
      const key = await getKey(c.var.deps, c.req.valid('param').key);
      setEtag(c, keyVersion(key));
      return c.json(keyJson(key), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'patch',
      path: '/keys/{key}',
      operationId: 'updateKey',
      summary: 'Change a key: name, expiry, allowed models, limit overrides',
      tags,
      scope: 'keys:write',
      cli: 'keys update',
      problems: [404, 412, 428],
      request: { params: KeyParam, headers: IfMatch, body: json(KeyUpdate) },
      responses: { 200: jsonResponse(Key, 'The key as changed', true) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const patch = { name: body.name, expiresAt: time(body.expires_at), allowedModels: body.allowed_models, limitOverrides: body.limit_overrides };
      const key = await updateKey(c.var.deps, c.req.valid('param').key, patch, { ifVersion: ifMatch(c), audit: auditOf(c) });
      setEtag(c, keyVersion(key));
      return c.json(keyJson(key), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/keys/{key}/revoke',
      operationId: 'revokeKey',
      summary: 'Revoke a key; the very next request with it is refused (revoking twice is harmless)',
      tags,
      scope: 'keys:write',
      cli: 'keys revoke',
      problems: [404],
      request: { params: KeyParam },
      responses: { 200: jsonResponse(Key, 'The revoked key', true) },
    }),
    async (c) => {
      const key = await revokeApiKey(c.var.deps, c.req.valid('param').key, auditOf(c));
      setEtag(c, keyVersion(key));
      return c.json(keyJson(key), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/keys/{key}/roll',
      operationId: 'rollKey',
      summary: 'Issue a successor with the same settings; the old key works for the grace period',
      tags,
      scope: 'keys:write',
      cli: 'keys roll',
      problems: [404, 409],
      request: { params: KeyParam, body: { required: false, content: { 'application/json': { schema: KeyRoll } } } },
      responses: { 201: jsonResponse(RolledKey, 'The successor with its secret (shown once) and the old key', true) },
    }),
    async (c) => {
      const graceMs = parseDuration(c.req.valid('json').grace ?? '24h') ?? 0;
      const rolled = await rollApiKey(c.var.deps, c.req.valid('param').key, graceMs, auditOf(c));
      setEtag(c, keyVersion(rolled.key));
      return c.json({ key: keyJson(rolled.key), secret: rolled.secret, previous: keyJson(rolled.previous) }, 201);
    },
  );
