import { asc, eq, or } from 'drizzle-orm';
import { plans, type PlanRow } from '../schema';
import type { Db } from '../types';
import { afterKey, toPage, type Page, type PageKey } from './paging';
import { sameRow } from './same-row';

/** Inserts a plan row. */
export async function insertPlan(db: Db, row: PlanRow): Promise<void> {
  await db.insert(plans).values(row);
}

/** All plans by name. */
export async function listPlans(db: Db): Promise<PlanRow[]> {
  return db.select().from(plans).orderBy(asc(plans.name));
}

/** A plan by id or by name. */
export async function findPlan(db: Db, idOrName: string): Promise<PlanRow | undefined> {
  const rows = await db.select().from(plans).where(or(eq(plans.id, idOrName), eq(plans.name, idOrName))).limit(1);
  return rows[0];
}

/** Replaces a plan's limits document. */
export async function updatePlanLimits(db: Db, id: string, limits: Record<string, unknown>): Promise<void> {
  await db.update(plans).set({ limits }).where(eq(plans.id, id));
}

/** Statement: inserts a plan (committed with its audit row). */
export function insertPlanStatement(db: Db, row: PlanRow) {
  return db.insert(plans).values(row);
}

/** Statement: writes `after` over the plan only if it still equals `before` (changes() tells). */
export function updatePlanStatement(db: Db, before: PlanRow, after: PlanRow) {
  const { id: _id, ...values } = after;
  return db.update(plans).set(values).where(sameRow(plans, before));
}

/** Plans by name, one page at a time. */
export async function pagePlans(db: Db, after: PageKey | undefined, limit: number): Promise<Page<PlanRow>> {
  const rows = await db.select().from(plans).where(afterKey([plans.name], after, 'asc')).orderBy(asc(plans.name)).limit(limit + 1);
  return toPage(rows, limit, (r) => [r.name]);
}
