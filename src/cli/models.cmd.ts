import type { ModelWithBackends } from '../db/repos/models.repo';
import { addModel, getModels, removeModel, type BackendInput } from '../services/models.service';
import { parseInteger, parseJsonObject, UsageError, type Args, type Noun } from './args';
import { fields, iso, table } from './output';

const ADD = 'models add';
const BACKEND_FIELDS = ['protocol', 'url', 'upstreamModel', 'credentialEnv', 'timeoutMs', 'weight', 'priority'];
const FLAG_BACKEND_OPTIONS = ['upstream-model', 'credential-env', 'timeout-ms', 'weight', 'priority'];

function backendsTable(models: ModelWithBackends[]): string {
  const rows = models.flatMap(({ model, backends }) =>
    (backends.length ? backends : [null]).map((b) => [
      model.name,
      model.units === 'header' ? `header:${model.unitHeader}` : model.units,
      b?.protocol,
      b?.baseUrl,
      b?.upstreamModel,
      b?.credentialEnv,
      b?.timeoutMs,
      b?.weight,
      b?.priority,
    ]),
  );
  return table(['model', 'units', 'protocol', 'url', 'upstream model', 'credential env', 'timeout ms', 'weight', 'priority'], rows);
}

/** A `--backend` JSON object, checked for shape; the service checks the values. */
function backendFromJson(text: string): BackendInput {
  const o = parseJsonObject(text, 'backend', ADD);
  const unknown = Object.keys(o).filter((k) => !BACKEND_FIELDS.includes(k));
  if (unknown.length) throw new UsageError(`--backend has unknown field '${unknown[0]}'; use ${BACKEND_FIELDS.join(', ')}`, ADD);
  if (typeof o.protocol !== 'string' || typeof o.url !== 'string') throw new UsageError('--backend needs string "protocol" and "url"', ADD);
  for (const k of ['timeoutMs', 'weight', 'priority']) {
    if (o[k] !== undefined && typeof o[k] !== 'number') throw new UsageError(`--backend "${k}" must be a number`, ADD);
  }
  return o as unknown as BackendInput;
}

/** The backend described by --protocol/--url and friends, if any. */
function backendFromFlags(args: Args): BackendInput | null {
  const protocol = args.string('protocol');
  const url = args.string('url');
  if (protocol === undefined && url === undefined) {
    const stray = FLAG_BACKEND_OPTIONS.find((o) => args.string(o) !== undefined);
    if (stray) throw new UsageError(`--${stray} describes a backend: give --protocol and --url with it`, ADD);
    return null;
  }
  if (protocol === undefined || url === undefined) throw new UsageError('a backend needs both --protocol and --url', ADD);
  return {
    protocol,
    url,
    upstreamModel: args.string('upstream-model'),
    credentialEnv: args.string('credential-env'),
    timeoutMs: parseInteger(args.string('timeout-ms'), 'timeout-ms', ADD),
    weight: parseInteger(args.string('weight'), 'weight', ADD),
    priority: parseInteger(args.string('priority'), 'priority', ADD),
  };
}

/** `tollgate models add|list|remove`. */
export const modelsNoun: Noun = {
  name: 'models',
  summary: 'Publish model names and the backends that serve them.',
  verbs: [
    {
      name: ADD,
      summary: 'Add a model with one backend (flags) or several (--backend JSON, repeated).',
      positionals: ['name'],
      options: {
        protocol: { type: 'string', value: 'openai|kserve-v2|tfserving|json', help: 'how the backend is spoken to' },
        url: { type: 'string', value: 'url', help: 'backend base URL (http or https)' },
        'upstream-model': { type: 'string', value: 'model', help: 'model name sent upstream (default: the public name)' },
        'credential-env': { type: 'string', value: 'VAR', help: 'environment variable holding the backend credential' },
        'timeout-ms': { type: 'string', value: 'n', help: 'upstream timeout in ms (default 60000)' },
        weight: { type: 'string', value: 'n', help: 'traffic share among backends of equal priority (default 1)' },
        priority: { type: 'string', value: 'n', help: 'lower numbers are tried first (default 0)' },
        units: { type: 'string', value: 'tokens|request|instances|header', help: 'what is metered (default: tokens for openai, else request)' },
        'unit-header': { type: 'string', value: 'name', help: 'response header carrying the unit count (with --units header)' },
        backend: {
          type: 'string',
          multiple: true,
          value: 'json',
          help: 'a backend as {"protocol","url","upstreamModel","credentialEnv","timeoutMs","weight","priority"}; repeat for several',
        },
      },
      async run({ args, admin, audit }) {
        const fromFlags = backendFromFlags(args);
        const backends = [...(fromFlags ? [fromFlags] : []), ...args.list('backend').map(backendFromJson)];
        if (backends.length === 0) throw new UsageError('give a backend: --protocol and --url, or --backend JSON', ADD);
        const added = await addModel(admin(), {
          name: args.positional(0),
          units: args.string('units'),
          unitHeader: args.string('unit-header'),
          backends,
        }, audit);
        const text = `${fields([
          ['id', added.model.id],
          ['name', added.model.name],
          ['units', added.model.units],
          ['unit header', added.model.unitHeader],
          ['created', iso(added.model.createdAt)],
        ])}\n\nbackends:\n${backendsTable([added])}`;
        return { json: added, text };
      },
    },
    {
      name: 'models list',
      summary: 'List models and their backends, by name.',
      options: {},
      async run({ admin }) {
        const models = await getModels(admin());
        return { json: models, text: backendsTable(models) };
      },
    },
    {
      name: 'models remove',
      summary: 'Remove a model and its backends; calls to it fail from the next request.',
      positionals: ['name'],
      options: {},
      async run({ args, admin, audit }) {
        const name = args.positional(0);
        await removeModel(admin(), name, audit);
        return { json: { removed: name }, text: `removed model ${name}` };
      },
    },
  ],
};
