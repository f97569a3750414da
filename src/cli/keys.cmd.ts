import { keyVersion, updateKey, type KeyPatch } from '../services/keys-admin.service';
import { createKey, getKey, getKeys, keyRow, revokeApiKey, rollApiKey, type KeyView } from '../services/keys.service';
import { parseDuration, parseJsonObject, UsageError, type Noun } from './args';
import { fields, iso, table } from './output';

/** The secret on its own line, for copying, under the warning that this is the only time it is shown. */
const secretBlock = (secret: string) => `secret (store it now, it will not be shown again):\n\n  ${secret}`;

/** Keys as a table; `withCustomer` adds the owner column. Never shows secrets (KeyView has none). */
export function keyTable(keys: KeyView[], withCustomer = false): string {
  const headers = ['id', 'prefix', ...(withCustomer ? ['customer'] : []), 'env', 'state', 'name', 'models', 'expires', 'created'];
  const rows = keys.map((k) => [
    k.id,
    k.displayPrefix,
    ...(withCustomer ? [k.customerId] : []),
    k.environment,
    k.state,
    k.name,
    k.allowedModels?.join(',') ?? 'all',
    iso(k.expiresAt),
    iso(k.createdAt),
  ]);
  return table(headers, rows);
}

function keyFields(k: KeyView): string {
  return fields([
    ['id', k.id],
    ['prefix', k.displayPrefix],
    ['customer', k.customerId],
    ['name', k.name],
    ['environment', k.environment],
    ['state', k.state],
    ['models', k.allowedModels?.join(',') ?? 'all'],
    ['limit overrides', k.limitOverrides ? JSON.stringify(k.limitOverrides) : null],
    ['expires', iso(k.expiresAt)],
    ['revoked', iso(k.revokedAt)],
    ['rolled to', k.rolledTo],
    ['created', iso(k.createdAt)],
  ]);
}

/** `--expires`: an ISO time or date, or a duration from now such as 30d, 12h, 15m. */
export function parseExpiry(value: string, now: number, command = 'keys create'): number {
  const duration = parseDuration(value);
  if (duration !== undefined) return now + duration;
  const trimmed = value.trim();
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? Date.parse(`${trimmed}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(`--expires must be an ISO time (2030-01-31T00:00:00Z) or a duration like 30d, 12h, 15m; got '${value}'`, command);
  }
  return ms;
}

/** Help of `--limits` on keys: what a key override is. */
const LIMITS_HELP =
  'limit overrides for this key, in the plan limits JSON shape; each part given replaces that part of the plan\'s limits (e.g. {"rates":[{"requests":5,"per":"1s"}]})';

/** `tollgate keys create|update|list|show|revoke|roll`. */
export const keysNoun: Noun = {
  name: 'keys',
  summary: 'Issue, inspect, revoke and roll API keys.',
  verbs: [
    {
      name: 'keys create',
      summary: 'Issue a key for a customer; the secret is printed once.',
      options: {
        customer: { type: 'string', value: 'id|name', required: true, help: 'the customer the key belongs to' },
        name: { type: 'string', value: 'name', help: 'a label for the key' },
        test: { type: 'boolean', help: 'issue a tg_test_ key instead of tg_live_' },
        models: { type: 'string', value: 'a,b', help: 'models the key may call (default: all)' },
        expires: { type: 'string', value: 'time|duration', help: 'ISO time, or a duration from now: 30d, 12h, 15m (default: never)' },
        limits: { type: 'string', value: 'json', help: LIMITS_HELP },
      },
      async run({ args, admin, audit }) {
        const deps = admin();
        const expires = args.string('expires');
        const models = args.string('models')?.split(',').map((m) => m.trim()).filter(Boolean);
        const limits = args.string('limits');
        const created = await createKey(deps, args.required('customer'), {
          name: args.string('name'),
          environment: args.flag('test') ? 'test' : 'live',
          allowedModels: models,
          expiresAt: expires === undefined ? undefined : parseExpiry(expires, deps.now()),
          limitOverrides: limits === undefined ? undefined : parseJsonObject(limits, 'limits', 'keys create'),
        }, audit);
        return { json: created, text: `${keyFields(created.key)}\n\n${secretBlock(created.secret)}` };
      },
    },
    {
      name: 'keys list',
      summary: 'List keys, newest first, optionally of one customer.',
      options: { customer: { type: 'string', value: 'id|name', help: 'only this customer\'s keys' } },
      async run({ args, admin }) {
        const keys = await getKeys(admin(), args.string('customer'));
        return { json: keys, text: keyTable(keys, true) };
      },
    },
    {
      name: 'keys show',
      summary: 'Show one key by id or unique prefix (never its secret).',
      positionals: ['id|prefix'],
      options: {},
      async run({ args, admin }) {
        const key = await getKey(admin(), args.positional(0));
        return { json: key, text: keyFields(key) };
      },
    },
    {
      name: 'keys update',
      summary: 'Change a key\'s limit overrides, name, models or expiry; the next request with it sees the change.',
      positionals: ['id|prefix'],
      options: {
        limits: { type: 'string', value: 'json', help: `${LIMITS_HELP}; replaces the key's previous overrides` },
        'clear-limits': { type: 'boolean', help: 'remove the key\'s overrides: its plan\'s limits apply again' },
        name: { type: 'string', value: 'name', help: 'a label for the key' },
        models: { type: 'string', value: 'a,b|all', help: 'models the key may call; all lifts the restriction' },
        expires: { type: 'string', value: 'time|duration|never', help: 'ISO time, a duration from now (30d, 12h), or never' },
      },
      async run({ args, admin, audit }) {
        const deps = admin();
        const limits = args.string('limits');
        if (limits !== undefined && args.flag('clear-limits')) throw new UsageError('give --limits or --clear-limits, not both', 'keys update');
        const models = args.string('models');
        const expires = args.string('expires');
        const patch: KeyPatch = {
          name: args.string('name'),
          allowedModels: models === undefined ? undefined : models === 'all' ? null : models.split(',').map((m) => m.trim()).filter(Boolean),
          expiresAt: expires === undefined ? undefined : expires === 'never' ? null : parseExpiry(expires, deps.now(), 'keys update'),
          limitOverrides: args.flag('clear-limits') ? null : limits === undefined ? undefined : parseJsonObject(limits, 'limits', 'keys update'),
        };
        const current = await keyRow(deps, args.positional(0));
        const key = await updateKey(deps, current.id, patch, { audit, ifVersion: [keyVersion(current)] });
        return { json: key, text: keyFields(key) };
      },
    },
    {
      name: 'keys revoke',
      summary: 'Revoke a key; the very next request with it is refused.',
      positionals: ['id|prefix'],
      options: {},
      async run({ args, admin, audit }) {
        const key = await revokeApiKey(admin(), args.positional(0), audit);
        return { json: key, text: keyFields(key) };
      },
    },
    {
      name: 'keys roll',
      summary: 'Issue a successor with the same settings; the old key keeps working for the grace period.',
      positionals: ['id|prefix'],
      options: { grace: { type: 'string', value: 'duration', help: 'how long the old key still works: 24h (default), 1h, 0 = now' } },
      async run({ args, admin, audit }) {
        const grace = args.string('grace') ?? '24h';
        const graceMs = parseDuration(grace);
        if (graceMs === undefined) throw new UsageError(`--grace must be a duration like 24h, 1h, 30m or 0; got '${grace}'`, 'keys roll');
        const rolled = await rollApiKey(admin(), args.positional(0), graceMs, audit);
        const text = [
          keyFields(rolled.key),
          '',
          secretBlock(rolled.secret),
          '',
          `old key ${rolled.previous.id} (${rolled.previous.displayPrefix}) now expires ${iso(rolled.previous.expiresAt)}`,
        ].join('\n');
        return { json: rolled, text };
      },
    },
  ],
};
