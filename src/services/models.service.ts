import { deleteModel, findModel, insertModel, listModels, type ModelWithBackends } from '../db/repos/models.repo';
import type { BackendRow, ModelRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { AdminDeps } from './admin';

const PROTOCOLS = ['openai', 'kserve-v2', 'tfserving', 'json'] as const;
const UNITS = ['tokens', 'request', 'instances', 'header'] as const;

/** One backend as an admin describes it. */
export interface BackendInput {
  protocol: string;
  url: string;
  upstreamModel?: string | null;
  credentialEnv?: string | null;
  timeoutMs?: number;
  weight?: number;
  priority?: number;
}

/** A model as an admin describes it. `units` defaults to tokens for OpenAI backends, else one per request. */
export interface ModelInput {
  name: string;
  units?: string;
  unitHeader?: string | null;
  backends: BackendInput[];
}

/** Adds a model name and its backends in one commit. */
export async function addModel(deps: AdminDeps, input: ModelInput): Promise<ModelWithBackends> {
  const name = input.name?.trim();
  if (!name) throw new ServiceError('invalid_request', 'A model needs a name.', 'name');
  if (!/^[\w.:\-/]+$/.test(name)) throw new ServiceError('invalid_request', 'A model name may use letters, digits and . _ : - /', 'name');
  if (!input.backends?.length) throw new ServiceError('invalid_request', 'A model needs at least one backend.', 'backends');
  if (await findModel(deps.db, name)) throw new ServiceError('conflict', `A model named '${name}' already exists.`, 'name');
  const units = input.units ?? (input.backends[0].protocol === 'openai' ? 'tokens' : 'request');
  if (!UNITS.includes(units as never)) throw new ServiceError('invalid_request', `units must be one of ${UNITS.join(', ')}.`, 'units');
  if (units === 'header' && !input.unitHeader) throw new ServiceError('invalid_request', 'units=header needs a unit header name.', 'unit_header');
  const model: ModelRow = {
    id: newId('mdl'),
    name,
    units: units as ModelRow['units'],
    unitHeader: units === 'header' ? input.unitHeader!.toLowerCase() : null,
    createdAt: deps.now(),
  };
  const backends = input.backends.map((b, i) => backendRow(model.id, b, i));
  await insertModel(deps.db, model, backends);
  deps.changes.changed();
  return { model, backends };
}

function backendRow(modelId: string, b: BackendInput, index: number): BackendRow {
  const param = `backends[${index}]`;
  if (!PROTOCOLS.includes(b.protocol as never)) {
    throw new ServiceError('invalid_request', `protocol must be one of ${PROTOCOLS.join(', ')}.`, `${param}.protocol`);
  }
  let url: URL;
  try {
    url = new URL(b.url);
  } catch {
    throw new ServiceError('invalid_request', `'${b.url}' is not a URL.`, `${param}.url`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ServiceError('invalid_request', 'Backend URLs must be http or https.', `${param}.url`);
  if (b.credentialEnv && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(b.credentialEnv)) {
    throw new ServiceError('invalid_request', 'The credential must name an environment variable.', `${param}.credential_env`);
  }
  const timeoutMs = b.timeoutMs ?? 60_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new ServiceError('invalid_request', 'timeout must be a positive number of ms.', `${param}.timeout_ms`);
  return {
    id: newId('bk'),
    modelId,
    protocol: b.protocol as BackendRow['protocol'],
    baseUrl: url.toString().replace(/\/$/, ''),
    upstreamModel: b.upstreamModel ?? null,
    credentialEnv: b.credentialEnv ?? null,
    timeoutMs,
    weight: Math.max(1, Math.floor(b.weight ?? 1)),
    priority: Math.floor(b.priority ?? 0),
  };
}

/** All models with their backends. */
export function getModels(deps: AdminDeps): Promise<ModelWithBackends[]> {
  return listModels(deps.db);
}

/** Removes a model and its backends; not_found if there is none. */
export async function removeModel(deps: AdminDeps, name: string): Promise<void> {
  if (!(await deleteModel(deps.db, name))) throw new ServiceError('not_found', `No model '${name}'.`, 'name');
  deps.changes.changed();
}
