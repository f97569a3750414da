import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LIMIT_OPTIONS } from '../src/cli/plan-flags';
import { adminClient, ALL_SCOPES, hsToken, startAdminGateway, unique } from './support/admin';
import { FAKE_STRIPE_KEY, startFakeStripe, type FakeStripe } from './support/fake-stripe/server';
import type { TestGateway } from './support/gateway';
import { deref, generate, schemaProblems, violations, type Schema } from './support/json-schema';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
/** Creates first (so later calls have ids to use), then reads, changes, and revokes and deletes last. */
const ORDER = (op: Operation) =>
  op.method === 'post' && !op.path.includes('{') ? 0 : op.method === 'get' ? 1 : op.method === 'delete' || op.path.endsWith('/revoke') ? 3 : 2;

interface Operation {
  method: string;
  path: string;
  spec: Schema;
}

let gw: TestGateway;
let fake: FakeStripe;
let doc: Schema;
let operations: Operation[];
beforeAll(async () => {
  // Stripe-compatible, so the billing operations can answer as declared too.
  fake = await startFakeStripe();
  gw = await startAdminGateway({ STRIPE_SECRET_KEY: FAKE_STRIPE_KEY, STRIPE_API_URL: fake.url, TOLLGATE_BILLING_SYNC_INTERVAL: '1h' });
  const res = await fetch(`${gw.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = await res.json();
  operations = Object.entries<Schema>(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, spec: { ...item[method], parameters: [...(item.parameters ?? []), ...(item[method].parameters ?? [])] } })),
  );
});
afterAll(async () => {
  await gw.stop();
  await fake.close();
});

describe('GET /openapi.json', () => {
  test('is a well-formed OpenAPI 3.1 document of the admin and public APIs', () => {
    const problems: string[] = [];
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Tollgate', version: expect.any(String) });
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['adminJwt', 'apiKey', 'apiKeyHeader']);
    expect(doc.components.securitySchemes.adminJwt).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const [name, schema] of Object.entries<Schema>(doc.components.schemas)) problems.push(...schemaProblems(doc, schema, `#/components/schemas/${name}`));
    const ids = new Set<string>();
    for (const { method, path, spec } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      if (!spec.operationId || ids.has(spec.operationId)) problems.push(`${where}: missing or duplicate operationId`);
      ids.add(spec.operationId);
      if (!spec.summary) problems.push(`${where}: no summary`);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = spec.parameters.map((p: Schema) => deref(doc, p)).filter((p: Schema) => p.in === 'path');
      if (JSON.stringify(declared.map((p: Schema) => p.name).sort()) !== JSON.stringify(templated)) problems.push(`${where}: path parameters ${templated} vs declared`);
      for (const p of spec.parameters.map((x: Schema) => deref(doc, x))) {
        if (!['path', 'query', 'header', 'cookie'].includes(p.in) || (p.in === 'path' && p.required !== true)) problems.push(`${where}: bad parameter ${p.name}`);
        problems.push(...schemaProblems(doc, p.schema ?? {}, `${where} parameter ${p.name}`));
      }
      for (const [media, content] of Object.entries<Schema>(spec.requestBody?.content ?? {})) problems.push(...schemaProblems(doc, content.schema, `${where} body ${media}`));
      const statuses = Object.keys(spec.responses ?? {});
      if (!statuses.some((s) => /^2\d\d$/.test(s))) problems.push(`${where}: no success response`);
      for (const [status, response] of Object.entries<Schema>(spec.responses)) {
        if (!response.description) problems.push(`${where} ${status}: no description`);
        for (const [media, content] of Object.entries<Schema>(response.content ?? {})) {
          if (!['application/json', 'application/problem+json'].includes(media)) problems.push(`${where} ${status}: media ${media}`);
          if (/^[45]/.test(status) && media === 'application/problem+json' && content.schema.$ref !== '#/components/schemas/Problem') problems.push(`${where} ${status}: not Problem`);
          problems.push(...schemaProblems(doc, content.schema, `${where} ${status}`));
        }
      }
      for (const requirement of spec.security ?? []) {
        for (const scheme of Object.keys(requirement)) if (!doc.components.securitySchemes[scheme]) problems.push(`${where}: unknown security scheme ${scheme}`);
      }
      if (path.startsWith('/admin/')) {
        const scopes = spec.security?.[0]?.adminJwt;
        if (spec.security?.length !== 1 || scopes?.length !== 1 || !ALL_SCOPES.includes(scopes[0]) || spec['x-scope'] !== scopes[0]) problems.push(`${where}: no admin scope`);
        for (const status of ['400', '401', '403', '503']) if (!spec.responses[status]) problems.push(`${where}: ${status} not declared`);
      }
    }
    expect(problems).toEqual([]);
    for (const path of ['/v1/chat/completions', '/v1/embeddings', '/v2/models/{model}/infer', '/v1/usage', '/admin/v1/keys/{key}/roll', '/admin/v1/audit']) expect(doc.paths[path]).toBeDefined();
    expect(doc.paths['/v1/chat/completions'].post.security).toEqual([{ apiKey: [] }, { apiKeyHeader: [] }]);
  });
});

describe('every admin operation, driven by the spec', () => {
  test('a request built from the schemas is answered as the spec declares', async () => {
    const token = await hsToken({ sub: 'spec-driver' });
    const call = adminClient(gw.url, token);
    const made: Record<string, string> = {};
    const hints = {
      name: () => unique('gen'),
      customer: () => made.customer,
      plan: () => made.plan,
    };
    const admin = operations.filter((o) => o.path.startsWith('/admin/v1/')).sort((a, b) => ORDER(a) - ORDER(b));
    expect(admin.length).toBeGreaterThanOrEqual(20);
    const checked: string[] = [];
    for (const op of admin) {
      const where = `${op.method.toUpperCase()} ${op.path}`;
      const path = op.path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(made[p]));
      const headers: Record<string, string> = {};
      for (const p of op.spec.parameters.map((x: Schema) => deref(doc, x)).filter((x: Schema) => x.in === 'header' && x.required)) {
        expect(p.name).toBe('if-match');
        headers['if-match'] = (await call('GET', path)).headers.get('etag')!;
      }
      const bodySchema = op.spec.requestBody?.content?.['application/json']?.schema;
      const body = bodySchema ? generate(doc, bodySchema, hints) : undefined;
      const res = await call(op.method.toUpperCase(), path, body, headers);
      const declared = op.spec.responses[String(res.status)];
      expect(declared, `${where} answered ${res.status}: ${JSON.stringify(res.body)}`).toBeDefined();
      expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
      const schema = declared.content?.['application/json']?.schema;
      if (schema) expect(violations(doc, schema, res.body), where).toEqual([]);
      else expect(res.body).toBeNull();
      for (const header of Object.keys(declared.headers ?? {})) expect(res.headers.get(header), `${where} header ${header}`).toBeTruthy();
      if (op.method === 'post' && !op.path.includes('{')) {
        const resource = op.path.split('/').pop()!.replace(/s$/, '');
        made[resource] = resource === 'model' ? res.body.name : (res.body.key?.id ?? res.body.id);
      }
      checked.push(where);
    }
    expect(checked).toHaveLength(admin.length);
  });

  test('each admin operation\u2019s refusals are declared and shaped as declared', async () => {
    for (const op of operations.filter((o) => o.path.startsWith('/admin/v1/'))) {
      const path = op.path.replace(/\{\w+\}/g, 'does-not-exist');
      const res = await fetch(`${gw.url}${path}`, { method: op.method.toUpperCase() });
      const declared = op.spec.responses[String(res.status)];
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(violations(doc, declared.content['application/problem+json'].schema, await res.json())).toEqual([]);
    }
    const call = adminClient(gw.url, await hsToken());
    for (const op of operations.filter((o) => o.path.startsWith('/admin/v1/') && o.path.includes('{') && o.method === 'get')) {
      const res = await call('GET', op.path.replace(/\{\w+\}/g, 'does-not-exist'));
      expect(res.status).toBe(404);
      expect(violations(doc, op.spec.responses['404'].content['application/problem+json'].schema, res.body)).toEqual([]);
    }
  });
});

describe('the CLI, the README and the spec agree', () => {
  /** Verbs and their options from `tollgate --help`, e.g. `keys create` → [customer, name, test, …]. */
  let verbsSeen: Promise<Map<string, string[]>> | null = null;
  const cliVerbs = () => (verbsSeen ??= readCliVerbs());
  async function readCliVerbs(): Promise<Map<string, string[]>> {
    const help = await new Promise<string>((done, fail) =>
      execFile(process.execPath, [resolve(import.meta.dirname, '../bin/tollgate.js'), '--help'], { timeout: 20_000 }, (e, out) => (e ? fail(e) : done(out))),
    );
    const verbs = new Map<string, string[]>();
    let current = '';
    for (const line of help.split('\n')) {
      const start = /^ {2}tollgate ((?:[a-z]+ ?)+)/.exec(line);
      if (start) verbs.set((current = start[1].trim()), []);
      if ((start || /^ {6}/.test(line)) && current) verbs.get(current)!.push(...[...line.matchAll(/--([a-z-]+)/g)].map((m) => m[1]));
    }
    return verbs;
  }
  /** CLI option names where the API chose another word (plans' limit flags are all parts of `limits`). */
  const ALIAS: Record<string, string[]> = {
    ...Object.fromEntries([...Object.keys(LIMIT_OPTIONS), 'clear'].map((flag) => [flag, ['limits']])),
    test: ['environment'],
    models: ['allowed_models'],
    expires: ['expires_at'],
    limits: ['limits', 'limit_overrides'],
    'clear-limits': ['limit_overrides'],
    by: ['group_by', 'interval'],
    backend: ['backends'],
  };
  /** Verbs that work on this machine only, or (billing) belong to the billing API, not yet in the admin API. */
  const LOCAL = (verb: string) => ['serve', 'migrate', 'admin token'].includes(verb) || verb.startsWith('billing ');
  /** Options that reach Stripe (billing), not yet in the admin API either. */
  const BILLING_OPTIONS = new Set(['stripe', 'stripe-customer']);

  test('every admin CLI verb has an operation (x-cli) taking the same inputs', async () => {
    const verbs = await cliVerbs();
    const byCli = new Map(operations.filter((o) => o.spec['x-cli']).map((o) => [o.spec['x-cli'] as string, o]));
    const problems: string[] = [];
    for (const cli of byCli.keys()) if (!verbs.has(cli)) problems.push(`x-cli '${cli}' is no CLI verb`);
    for (const [verb, options] of verbs) {
      if (LOCAL(verb)) continue;
      const op = byCli.get(verb);
      if (!op) {
        problems.push(`CLI verb '${verb}' has no admin operation`);
        continue;
      }
      const inputs = JSON.stringify([op.spec.parameters.map((p: Schema) => deref(doc, p).name), expand(op.spec.requestBody?.content?.['application/json']?.schema)]);
      for (const option of options.filter((o) => !BILLING_OPTIONS.has(o))) {
        const names = ALIAS[option] ?? [option.replace(/-/g, '_')];
        if (!names.some((n) => inputs.includes(`"${n}"`))) problems.push(`'${verb} --${option}' has no counterpart in ${op.spec.operationId}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("the README's CLI reference names real verbs, including admin token", async () => {
    const verbs = await cliVerbs();
    const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## CLI'), readme.indexOf('\n## ', readme.indexOf('## CLI') + 1));
    const firstCells = [...section.matchAll(/^\| (.*?[^\\])\|/gm)].map((m) => m[1]);
    const listed = firstCells.flatMap((cell) => [...cell.matchAll(/`([a-z]+(?: [a-z]+)?)/g)].map((m) => m[1])).filter((v) => v !== 'verb');
    expect(listed).toContain('admin token');
    const unknown = listed.filter((v) => !verbs.has(v) && !verbs.has(v.split(' ')[0]));
    expect(unknown).toEqual([]);
  });

  /** Every property name a body schema accepts, nested ones included. */
  function expand(schema: Schema | undefined, seen = 0): unknown {
    if (!schema || seen > 5) return null;
    const s = deref(doc, schema);
    return {
      ...Object.fromEntries(Object.entries<Schema>(s.properties ?? {}).map(([k, v]) => [k, expand(v, seen + 1)])),
      items: s.items ? expand(s.items, seen + 1) : null,
      any: (s.anyOf ?? []).map((o: Schema) => expand(o, seen + 1)),
    };
  }
});
