import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FormValue } from './form';
import { checkSchema, type Schema, type Violation } from './schema-check';

interface RawParameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
  schema: Schema;
}

interface RawOperation {
  parameters?: RawParameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

/** One operation of the contract: how to match its path and what its request and 200 answer look like. */
export interface Operation {
  id: string;
  method: string;
  template: string;
  regex: RegExp;
  pathNames: string[];
  query: RawParameter[];
  body: { schema: Schema; json: boolean; required: boolean } | null;
  ok: Schema | null;
}

/**
 * Stripe's published OpenAPI slice for billing (copied from the shared `stripe/openapi-billing-subset.json`,
 * API version 2026-09-30.endive): the fake finds each request's operation here and refuses anything the
 * contract does not allow, the way Stripe answers (`invalid_request_error` naming the parameter).
 */
export class StripeSpec {
  readonly operations: Operation[];
  private readonly schemas: Record<string, Schema>;

  constructor(document: { paths: Record<string, Record<string, RawOperation>>; components: { schemas: Record<string, Schema> } }) {
    this.schemas = document.components.schemas;
    this.operations = Object.entries(document.paths).flatMap(([template, methods]) =>
      Object.entries(methods).map(([method, op]) => {
        const pathNames = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        const regex = new RegExp(`^${template.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
        const content = op.requestBody?.content ?? {};
        const json = content['application/json'];
        const form = content['application/x-www-form-urlencoded'];
        const body = json ? { schema: json.schema, json: true, required: !!op.requestBody?.required } : form && method !== 'get' ? { schema: form.schema, json: false, required: !!op.requestBody?.required } : null;
        return {
          id: `${method.toUpperCase()} ${template}`,
          method: method.toUpperCase(),
          template,
          regex,
          pathNames,
          query: (op.parameters ?? []).filter((p) => p.in === 'query'),
          body,
          ok: op.responses['200']?.content?.['application/json']?.schema ?? null,
        };
      }),
    );
  }

  /** The subset file beside this module. */
  static load(): StripeSpec {
    const file = join(dirname(fileURLToPath(import.meta.url)), 'openapi-billing-subset.json');
    return new StripeSpec(JSON.parse(readFileSync(file, 'utf8')));
  }

  /** The operation serving `method path`, with its path parameters; null when the contract has none. */
  find(method: string, path: string): { op: Operation; params: Record<string, string> } | null {
    for (const op of this.operations) {
      const match = op.method === method ? op.regex.exec(path) : null;
      if (match) return { op, params: Object.fromEntries(op.pathNames.map((n, i) => [n, decodeURIComponent(match[i + 1])])) };
    }
    return null;
  }

  /** Everything wrong with a request's query string and body. */
  checkRequest(op: Operation, query: Record<string, FormValue>, body: unknown): Violation[] {
    const resolve = (ref: string) => this.resolve(ref);
    const out: Violation[] = [];
    for (const p of op.query) {
      if (query[p.name] === undefined) {
        if (p.required) out.push({ param: p.name, code: 'parameter_missing', message: `Missing required param: ${p.name}.` });
      } else out.push(...checkSchema(query[p.name], p.schema, { resolve, form: true, strict: true }, p.name));
    }
    for (const name of Object.keys(query)) {
      if (!op.query.some((p) => p.name === name)) out.push({ param: name, code: 'parameter_unknown', message: `Received unknown parameter: ${name}` });
    }
    const empty = body === undefined || (typeof body === 'object' && body !== null && Object.keys(body).length === 0);
    if (!op.body) {
      if (!empty) out.push({ param: '(body)', code: 'parameter_unknown', message: `${op.id} takes no body` });
    } else if (!(empty && !op.body.required)) {
      out.push(...checkSchema(body ?? {}, op.body.schema, { resolve, form: !op.body.json, strict: true }));
    }
    return out;
  }

  /** Everything wrong with a 200 answer the fake is about to send (the fake must honour the contract too). */
  checkResponse(op: Operation, body: unknown): Violation[] {
    return op.ok ? checkSchema(body, op.ok, { resolve: (ref) => this.resolve(ref), form: false, strict: false }) : [];
  }

  private resolve(ref: string): Schema {
    const name = ref.replace('#/components/schemas/', '');
    const schema = this.schemas[name];
    if (!schema) throw new Error(`unknown schema ${ref}`);
    return schema;
  }
}
