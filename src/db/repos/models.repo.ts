import { asc, eq, inArray } from 'drizzle-orm';
import { runAtomic } from '../atomic';
import { backends, models, type BackendRow, type ModelRow } from '../schema';
import type { Db } from '../types';

/** A model with its backends, as the router needs it. */
export interface ModelWithBackends {
  model: ModelRow;
  backends: BackendRow[];
}

/** Inserts a model and its backends in one commit. */
export async function insertModel(db: Db, model: ModelRow, rows: BackendRow[]): Promise<void> {
  await runAtomic(db, [db.insert(models).values(model), ...rows.map((b) => db.insert(backends).values(b))]);
}

/** Deletes a model and its backends in one commit; returns whether it existed. */
export async function deleteModel(db: Db, name: string): Promise<boolean> {
  const found = await db.select().from(models).where(eq(models.name, name)).limit(1);
  if (!found[0]) return false;
  await runAtomic(db, [
    db.delete(backends).where(eq(backends.modelId, found[0].id)),
    db.delete(models).where(eq(models.id, found[0].id)),
  ]);
  return true;
}

/** Every model with its backends, by name. */
export async function listModels(db: Db): Promise<ModelWithBackends[]> {
  const modelRows = await db.select().from(models).orderBy(asc(models.name));
  if (modelRows.length === 0) return [];
  const backendRows = await db
    .select()
    .from(backends)
    .where(inArray(backends.modelId, modelRows.map((m) => m.id)))
    .orderBy(asc(backends.priority), asc(backends.id));
  return modelRows.map((model) => ({ model, backends: backendRows.filter((b) => b.modelId === model.id) }));
}

/** One model by public name, with its backends. */
export async function findModel(db: Db, name: string): Promise<ModelWithBackends | undefined> {
  const found = await db.select().from(models).where(eq(models.name, name)).limit(1);
  if (!found[0]) return undefined;
  const rows = await db.select().from(backends).where(eq(backends.modelId, found[0].id)).orderBy(asc(backends.priority));
  return { model: found[0], backends: rows };
}
