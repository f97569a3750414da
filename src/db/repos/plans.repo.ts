import { asc, eq, or } from 'drizzle-orm';
import { plans, type PlanRow } from '../schema';
import type { Db } from '../types';

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
