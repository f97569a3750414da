import { findPlan, insertPlan, listPlans } from '../db/repos/plans.repo';
import type { PlanRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { AdminDeps } from './admin';

/** Creates a plan; limits may stay empty (unlimited). Names are unique. */
export async function createPlan(deps: AdminDeps, input: { name: string; limits?: Record<string, unknown> }): Promise<PlanRow> {
  const name = input.name.trim();
  if (!name) throw new ServiceError('invalid_request', 'A plan needs a name.', 'name');
  if (await findPlan(deps.db, name)) throw new ServiceError('conflict', `A plan named '${name}' already exists.`, 'name');
  const row: PlanRow = { id: newId('plan'), name, limits: input.limits ?? {}, createdAt: deps.now() };
  await insertPlan(deps.db, row);
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
