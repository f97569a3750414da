import { runAtomic } from '../db/atomic';
import { guardedAuditStatement, insertAuditStatement } from '../db/repos/audit.repo';
import { findPlan, insertPlanStatement, listPlans, pagePlans, updatePlanStatement } from '../db/repos/plans.repo';
import type { PlanRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { newId } from '../domain/ids';
import { PlanLimitsSchema, type PlanLimits } from '../domain/plan-limits';
import { versionTag } from '../domain/version-tag';
import type { AdminDeps } from './admin';
import { auditChanges, auditRow, checkVersion, commitAudited, staleRecord, SYSTEM_AUDIT, type AuditContext, type UpdateOptions } from './audit.service';
import { pageParams, pageResult, type PageRequest, type PageResult } from './paging';

/** Creates a plan; limits may stay empty (unlimited). Names are unique. */
export async function createPlan(
  deps: AdminDeps,
  input: { name: string; limits?: Record<string, unknown> },
  audit: AuditContext = SYSTEM_AUDIT,
): Promise<PlanRow> {
  const name = input.name.trim();
  if (!name) throw new ServiceError('invalid_request', 'A plan needs a name.', 'name');
  if (await findPlan(deps.db, name)) throw new ServiceError('conflict', `A plan named '${name}' already exists.`, 'name');
  const row: PlanRow = { id: newId('plan'), name, limits: validateLimits(input.limits ?? {}), createdAt: deps.now() };
  const entry = auditRow(deps, audit, 'plan.create', { type: 'plan', id: row.id }, auditChanges(null, row)!);
  await runAtomic(deps.db, [insertPlanStatement(deps.db, row), insertAuditStatement(deps.db, entry)]);
  deps.changes.changed();
  return row;
}

/** All plans. */
export function getPlans(deps: AdminDeps): Promise<PlanRow[]> {
  return listPlans(deps.db);
}

/** A plan by id or name, or not_found. */
export async function getPlan(deps: AdminDeps, idOrName: string): Promise<PlanRow> {
  const plan = await findPlan(deps.db, idOrName);
  if (!plan) throw new ServiceError('not_found', `No plan '${idOrName}'.`, 'plan');
  return plan;
}

/** Validates a plan's (or a key override's) limits, naming the offending field. */
export function validateLimits(limits: Record<string, unknown>, param = 'limits'): PlanLimits {
  const result = PlanLimitsSchema.safeParse(limits);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [param, ...issue.path.map(String)].join('.');
  throw new ServiceError('invalid_request', `${path}: ${issue.message}`, path);
}

/** The version tag (ETag) of a plan as stored. */
export const planVersion = (row: PlanRow) => versionTag(row);

/**
 * Renames a plan and/or replaces its limits; takes effect on the next request. Refused with
 * precondition_failed if the plan is no longer at a demanded version.
 */
export async function updatePlan(
  deps: AdminDeps,
  idOrName: string,
  input: { name?: string; limits?: Record<string, unknown> },
  options: UpdateOptions = {},
): Promise<PlanRow> {
  const plan = await getPlan(deps, idOrName);
  checkVersion(planVersion(plan), options.ifVersion, `Plan ${plan.id}`);
  const next: PlanRow = { ...plan };
  if (input.limits !== undefined) next.limits = validateLimits(input.limits);
  if (input.name !== undefined && input.name.trim() !== plan.name) {
    next.name = input.name.trim();
    if (!next.name) throw new ServiceError('invalid_request', 'A plan needs a name.', 'name');
    if (await findPlan(deps.db, next.name)) throw new ServiceError('conflict', `A plan named '${next.name}' already exists.`, 'name');
  }
  const changes = auditChanges(plan, next);
  if (!changes) return plan;
  const entry = auditRow(deps, options.audit ?? SYSTEM_AUDIT, 'plan.update', { type: 'plan', id: plan.id }, changes);
  await commitAudited(deps.db, [updatePlanStatement(deps.db, plan, next), guardedAuditStatement(deps.db, entry)], staleRecord(`Plan ${plan.id}`));
  deps.changes.changed();
  return next;
}

/** Plans by name, paged. */
export async function getPlansPage(deps: AdminDeps, page: PageRequest = {}): Promise<PageResult<PlanRow>> {
  const { after, limit } = pageParams(page, 1);
  return pageResult(await pagePlans(deps.db, after, limit), (row) => row);
}
