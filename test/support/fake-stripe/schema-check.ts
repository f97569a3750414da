/** An OpenAPI 3.0 schema object (the subset of keywords Stripe's spec uses). */
export interface Schema {
  $ref?: string;
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  nullable?: boolean;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  maxLength?: number;
  pattern?: string;
  'x-stripeBypassValidation'?: boolean;
}

/** One contract violation: where (`payload[value]`) and what. */
export interface Violation {
  param: string;
  code: 'parameter_missing' | 'parameter_unknown' | 'parameter_invalid_integer' | 'parameter_invalid_string' | 'parameter_invalid_empty' | 'invalid_value';
  message: string;
}

/** How to check: `form` for v1 bodies and query strings; `strict` closes objects that list their properties. */
export interface CheckMode {
  resolve(ref: string): Schema;
  form: boolean;
  strict: boolean;
}

/**
 * Checks `value` against `schema`. In `form` mode scalars arrive as strings and arrays as objects with
 * numeric keys, so types are checked by what the string can be read as. Requests are checked `strict`
 * (Stripe refuses unknown parameters at any depth); responses are not.
 */
export function checkSchema(value: unknown, schema: Schema, mode: CheckMode, param = ''): Violation[] {
  const { resolve, form } = mode;
  if (schema.$ref) return checkSchema(value, resolve(schema.$ref), mode, param);
  const where = param || '(body)';
  if (value === null) return schema.nullable ? [] : [{ param: where, code: 'invalid_value', message: `${where} may not be null` }];
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const results = alternatives.map((s) => checkSchema(value, s, mode, param));
    return results.some((r) => r.length === 0) ? [] : (results.sort((a, b) => a.length - b.length)[0] ?? []);
  }
  if (schema.allOf) return schema.allOf.flatMap((s) => checkSchema(value, s, mode, param));
  if (schema.enum && !schema['x-stripeBypassValidation'] && !schema.enum.includes(value)) {
    return [{ param: where, code: 'invalid_value', message: `Invalid ${where}: must be one of ${schema.enum.join(', ')}` }];
  }
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return [{ param: where, code: 'parameter_invalid_string', message: `Invalid string: ${where}` }];
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        return [{ param: where, code: 'invalid_value', message: `${where} must be at most ${schema.maxLength} characters` }];
      }
      if (schema.pattern && !new RegExp(schema.pattern).test(value)) return [{ param: where, code: 'invalid_value', message: `${where} does not match ${schema.pattern}` }];
      return [];
    case 'integer':
      if (form ? typeof value === 'string' && /^-?\d+$/.test(value) : Number.isInteger(value)) return [];
      return [{ param: where, code: 'parameter_invalid_integer', message: `Invalid integer: ${String(value)}` }];
    case 'number':
      if (form ? typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) : typeof value === 'number') return [];
      return [{ param: where, code: 'invalid_value', message: `Invalid number: ${String(value)}` }];
    case 'boolean':
      if (form ? value === 'true' || value === 'false' : typeof value === 'boolean') return [];
      return [{ param: where, code: 'invalid_value', message: `Invalid boolean: ${String(value)}` }];
    case 'array': {
      const items = Array.isArray(value) ? value : form && isObject(value) && Object.keys(value).every((k) => /^\d+$/.test(k)) ? Object.values(value) : null;
      if (!items) return [{ param: where, code: 'invalid_value', message: `Invalid array: ${where}` }];
      return schema.items ? items.flatMap((item, i) => checkSchema(item, schema.items!, mode, `${param}[${i}]`)) : [];
    }
    case 'object':
    case undefined:
      if (!isObject(value)) {
        if (schema.type === undefined && !schema.properties) return [];
        if (form && value === '') return [{ param: where, code: 'parameter_invalid_empty', message: `You passed an empty string for '${where}'.` }];
        return [{ param: where, code: 'invalid_value', message: `Invalid object: ${where}` }];
      }
      return checkObject(value, schema, mode, param);
  }
  return [];
}

function checkObject(value: Record<string, unknown>, schema: Schema, mode: CheckMode, param: string): Violation[] {
  const out: Violation[] = [];
  const name = (key: string) => (param ? `${param}[${key}]` : key);
  for (const key of schema.required ?? []) {
    if (value[key] === undefined) out.push({ param: name(key), code: 'parameter_missing', message: `Missing required param: ${name(key)}.` });
  }
  for (const [key, v] of Object.entries(value)) {
    const property = schema.properties?.[key];
    if (property) out.push(...checkSchema(v, property, mode, name(key)));
    else if (schema.additionalProperties === false || (mode.strict && schema.additionalProperties === undefined && schema.properties)) out.push({ param: name(key), code: 'parameter_unknown', message: `Received unknown parameter: ${name(key)}` });
    else if (typeof schema.additionalProperties === 'object') out.push(...checkSchema(v, schema.additionalProperties, mode, name(key)));
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
