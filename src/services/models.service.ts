import { runAtomic } from '../db/atomic';
import { guardedAuditStatement, insertAuditStatement } from '../db/repos/audit.repo';
import {
  deleteModelStatements,
  findModel,
  insertModelStatements,
  listModels,
  pageModels,
  updateModelStatements,
  type ModelWithBackends,
} from '../db/repos/models.repo';
import type { BackendRow, ModelRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { newId } from '../domain/ids';
import { versionTag } from '../domain/version-tag';
import type { AdminDeps } from './admin';
import { auditChanges, auditRow, checkVersion, commitAudited, staleRecord, SYSTEM_AUDIT, type AuditContext, type UpdateOptions } from './audit.service';
import { pageParams, pageResult, type PageRequest, type PageResult } from './paging';

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
export async function addModel(deps: AdminDeps, input: ModelInput, audit: AuditContext = SYSTEM_AUDIT): Promise<ModelWithBackends> {
  const name = input.name?.trim();
  if (!name) throw new ServiceError('invalid_request', 'A model needs a name.', 'name');
  if (!/^[\w.:\-/]+$/.test(name)) throw new ServiceError('invalid_request', 'A model name may use letters, digits and . _ : - /', 'name');
  if (!input.backends?.length) throw new ServiceError('invalid_request', 'A model needs at least one backend.', 'backends');
  if (await findModel(deps.db, name)) throw new ServiceError('conflict', `A model named '${name}' already exists.`, 'name');
  const units = input.units ?? (input.backends[0].protocol === 'openai' ? 'tokens' : 'request');
  const model: ModelRow = { id: newId('mdl'), name, ...metering(units, input.unitHeader), createdAt: deps.now() };
  const backends = input.backends.map((b, i) => backendRow(model.id, b, i));
  const entry = auditRow(deps, audit, 'model.create', { type: 'model', id: model.id }, auditChanges(null, { ...model, backends })!);
  await runAtomic(deps.db, [...insertModelStatements(deps.db, model, backends), insertAuditStatement(deps.db, entry)]);
  deps.changes.changed();
  return { model, backends };
}

/** A model's metering columns, checked. */
function metering(units: string, unitHeader: string | null | undefined): Pick<ModelRow, 'units' | 'unitHeader'> {
  if (!UNITS.includes(units as never)) throw new ServiceError('invalid_request', `units must be one of ${UNITS.join(', ')}.`, 'units');
  if (units === 'header' && !unitHeader) throw new ServiceError('invalid_request', 'units=header needs a unit header name.', 'unit_header');
  return { units: units as ModelRow['units'], unitHeader: units === 'header' ? unitHeader!.toLowerCase() : null };
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

/** One model with its backends, or not_found. */
export async function getModel(deps: AdminDeps, name: string): Promise<ModelWithBackends> {
  const found = await findModel(deps.db, name);
  if (!found) throw new ServiceError('not_found', `No model '${name}'.`, 'name');
  return found;
}

/** Models by name, paged. */
export async function getModelsPage(deps: AdminDeps, page: PageRequest = {}): Promise<PageResult<ModelWithBackends>> {
  const { after, limit } = pageParams(page, 1);
  return pageResult(await pageModels(deps.db, after, limit), (entry) => entry);
}

/** The version tag (ETag) of a model with its backends. */
export const modelVersion = (entry: ModelWithBackends) => versionTag(entry);

/** Removes a model and its backends; not_found if there is none; with `ifVersion`, only that version. */
export async function removeModel(deps: AdminDeps, name: string, audit: AuditContext = SYSTEM_AUDIT, ifVersion?: readonly string[]): Promise<void> {
  const current = await getModel(deps, name);
  checkVersion(modelVersion(current), ifVersion, `Model ${name}`);
  const entry = auditRow(deps, audit, 'model.delete', { type: 'model', id: current.model.id }, auditChanges({ ...current.model, backends: current.backends }, null)!);
  await commitAudited(deps.db, [...deleteModelStatements(deps.db, current, ifVersion !== undefined), guardedAuditStatement(deps.db, entry)], staleRecord(`Model ${name}`));
  deps.changes.changed();
}

/** What an admin may change on a model; `backends`, when given, replaces them all. */
export interface ModelPatch {
  units?: string;
  unitHeader?: string | null;
  backends?: BackendInput[];
}

/** Changes how a model is metered and/or replaces its backends, in one commit; refused if not at a demanded version. */
export async function updateModel(deps: AdminDeps, name: string, patch: ModelPatch, options: UpdateOptions = {}): Promise<ModelWithBackends> {
  const current = await getModel(deps, name);
  checkVersion(modelVersion(current), options.ifVersion, `Model ${name}`);
  if (patch.backends !== undefined && patch.backends.length === 0) throw new ServiceError('invalid_request', 'A model needs at least one backend.', 'backends');
  const units = patch.units ?? current.model.units;
  const unitHeader = patch.unitHeader !== undefined ? patch.unitHeader : current.model.unitHeader;
  const model: ModelRow = { ...current.model, ...metering(units, unitHeader) };
  const replacement = patch.backends ? patch.backends.map((b, i) => backendRow(model.id, b, i)) : null;
  const next = { model, backends: replacement ?? current.backends };
  const strip = (bs: BackendRow[]) => bs.map(({ id: _id, modelId: _m, ...rest }) => rest);
  const changes = auditChanges({ ...current.model, backends: strip(current.backends) }, { ...model, backends: strip(next.backends) });
  if (!changes) return current;
  const entry = auditRow(deps, options.audit ?? SYSTEM_AUDIT, 'model.update', { type: 'model', id: model.id }, changes);
  const { guarded, rest } = updateModelStatements(deps.db, current, model, replacement);
  await commitAudited(deps.db, [guarded, guardedAuditStatement(deps.db, entry), ...rest], staleRecord(`Model ${name}`));
  deps.changes.changed();
  return next;
}
