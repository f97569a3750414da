/** A JSON Schema node of an OpenAPI 3.1 document (the subset the generated spec uses). */
export type Schema = Record<string, any>;

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

/** Follows `$ref`s into the document's components. */
export function deref(doc: Schema, schema: Schema): Schema {
  let s = schema;
  for (let hops = 0; s?.$ref; hops++) {
    if (hops > 20) throw new Error(`$ref loop at ${schema.$ref}`);
    s = s.$ref.replace(/^#\//, '').split('/').reduce((node: Schema | undefined, part: string) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    if (!s) throw new Error(`unresolved $ref ${schema.$ref}`);
  }
  return s;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Every way `value` breaks `schema`, as `path: reason` lines (empty when it conforms). */
export function violations(doc: Schema, schema: Schema, value: unknown, path = '$'): string[] {
  const s = deref(doc, schema);
  const out: string[] = [];
  if (s.anyOf || s.oneOf) {
    const options: Schema[] = s.anyOf ?? s.oneOf;
    const matching = options.filter((o) => violations(doc, o, value, path).length === 0).length;
    if (s.oneOf ? matching !== 1 : matching === 0) out.push(`${path}: matches ${matching} of ${options.length} alternatives`);
  }
  for (const part of s.allOf ?? []) out.push(...violations(doc, part, value, path));
  if (s.type !== undefined) {
    const allowed: string[] = Array.isArray(s.type) ? s.type : [s.type];
    const actual = typeOf(value);
    if (!allowed.includes(actual) && !(actual === 'integer' && allowed.includes('number'))) return [...out, `${path}: ${actual} is not ${allowed.join('|')}`];
  }
  if (s.enum && !s.enum.includes(value)) out.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(s.enum)}`);
  if ('const' in s && s.const !== value) out.push(`${path}: not ${JSON.stringify(s.const)}`);
  if (typeof value === 'string') {
    if (s.minLength !== undefined && value.length < s.minLength) out.push(`${path}: shorter than ${s.minLength}`);
    if (s.maxLength !== undefined && value.length > s.maxLength) out.push(`${path}: longer than ${s.maxLength}`);
    if (s.pattern && !new RegExp(s.pattern, 'u').test(value)) out.push(`${path}: does not match ${s.pattern}`);
    if (s.format === 'date-time' && Number.isNaN(Date.parse(value))) out.push(`${path}: not a date-time`);
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) out.push(`${path}: below ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) out.push(`${path}: above ${s.maximum}`);
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) out.push(`${path}: not above ${s.exclusiveMinimum}`);
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) out.push(`${path}: fewer than ${s.minItems} items`);
    if (s.items) value.forEach((item, i) => out.push(...violations(doc, s.items, item, `${path}[${i}]`)));
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of s.required ?? []) if (!(key in record)) out.push(`${path}.${key}: required`);
    for (const [key, v] of Object.entries(record)) {
      if (s.properties?.[key]) out.push(...violations(doc, s.properties[key], v, `${path}.${key}`));
      else if (s.additionalProperties === false) out.push(`${path}.${key}: not allowed`);
      else if (typeof s.additionalProperties === 'object') out.push(...violations(doc, s.additionalProperties, v, `${path}.${key}`));
    }
  }
  return out;
}

/** Checks a schema tree is well-formed JSON Schema as OpenAPI 3.1 uses it; returns the problems found. */
export function schemaProblems(doc: Schema, schema: Schema, path: string): string[] {
  if (schema.$ref) {
    try {
      deref(doc, schema);
      return [];
    } catch (error) {
      return [`${path}: ${(error as Error).message}`];
    }
  }
  const out: string[] = [];
  for (const t of Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []) if (!TYPES.has(t)) out.push(`${path}: unknown type ${t}`);
  if ('nullable' in schema) out.push(`${path}: 'nullable' is OpenAPI 3.0, not 3.1`);
  for (const key of schema.required ?? []) if (schema.properties && !(key in schema.properties)) out.push(`${path}: required '${key}' has no property`);
  for (const [k, sub] of Object.entries<Schema>(schema.properties ?? {})) out.push(...schemaProblems(doc, sub, `${path}.${k}`));
  for (const key of ['items', 'additionalProperties'] as const) if (schema[key] && typeof schema[key] === 'object') out.push(...schemaProblems(doc, schema[key], `${path}.${key}`));
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) (schema[key] ?? []).forEach((sub: Schema, i: number) => out.push(...schemaProblems(doc, sub, `${path}.${key}[${i}]`)));
  return out;
}

/** Values a generator cannot invent (ids of records made earlier, unique names), by property name. */
export type Hints = Record<string, () => unknown>;

/** A value valid against `schema`: required properties only, the first enum option, the smallest allowed. */
export function generate(doc: Schema, schema: Schema, hints: Hints = {}, name = ''): unknown {
  const s = deref(doc, schema);
  if (name && hints[name]) return hints[name]();
  if (s.anyOf || s.oneOf) {
    const options: Schema[] = s.anyOf ?? s.oneOf;
    return generate(doc, options.find((o) => deref(doc, o).type !== 'null') ?? options[0], hints, name);
  }
  if (s.enum) return s.enum[0];
  if ('const' in s) return s.const;
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      if (s.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      if (s.format === 'email') return 'generated@example.test';
      if (s.format === 'uri') return 'http://127.0.0.1:9/generated';
      if (s.example !== undefined && violations(doc, s, s.example).length === 0) return s.example;
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    case 'integer':
    case 'number':
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => generate(doc, s.items ?? {}, hints));
    case 'object':
    case undefined:
      return Object.fromEntries((s.required ?? []).map((key: string) => [key, generate(doc, s.properties?.[key] ?? {}, hints, key)]));
    default:
      return null;
  }
}
