import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { runAtomic } from '../atomic';
import { backends, models, type BackendRow, type ModelRow } from '../schema';
import type { Db } from '../types';
import { afterKey, toPage, type Page, type PageKey } from './paging';
import { sameRow } from './same-row';

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

/** Statements: insert a model and its backends (committed with their audit row). */
export function insertModelStatements(db: Db, model: ModelRow, rows: BackendRow[]) {
  return [db.insert(models).values(model), ...rows.map((b) => db.insert(backends).values(b))];
}

/** "The model still has exactly these backends": backend ids are never reused, so any replacement shows. */
function sameBackends(entry: ModelWithBackends) {
  const ids = entry.backends.map((b) => b.id).sort().join(',');
  return sql`(select coalesce(group_concat(${backends.id}, ',' order by ${backends.id}), '') from ${backends} where ${backends.modelId} = ${entry.model.id}) = ${ids}`;
}

/**
 * Statements: write `model` over the entry and, when `replacement` is given, swap its backends — the
 * first statement changes a row only if nothing changed since `before` was read (changes() tells).
 */
export function updateModelStatements(db: Db, before: ModelWithBackends, model: ModelRow, replacement: BackendRow[] | null) {
  const { id: _id, ...values } = model;
  const update = db.update(models).set(values).where(and(sameRow(models, before.model), sameBackends(before)));
  if (!replacement) return { guarded: update, rest: [] };
  const rest = [db.delete(backends).where(eq(backends.modelId, before.model.id)), ...replacement.map((b) => db.insert(backends).values(b))];
  return { guarded: update, rest };
}

/** Statements: delete a model's backends, then the model (only if unchanged since read when `strict`). */
export function deleteModelStatements(db: Db, before: ModelWithBackends, strict: boolean) {
  const where = strict ? and(sameRow(models, before.model), sameBackends(before)) : eq(models.id, before.model.id);
  return [db.delete(backends).where(eq(backends.modelId, before.model.id)), db.delete(models).where(where)];
}

/** Models with their backends by name, one page at a time. */
export async function pageModels(db: Db, after: PageKey | undefined, limit: number): Promise<Page<ModelWithBackends>> {
  const modelRows = await db.select().from(models).where(afterKey([models.name], after, 'asc')).orderBy(asc(models.name)).limit(limit + 1);
  const page = toPage(modelRows, limit, (m) => [m.name]);
  if (page.items.length === 0) return { items: [], next: null };
  const backendRows = await db
    .select()
    .from(backends)
    .where(inArray(backends.modelId, page.items.map((m) => m.id)))
    .orderBy(asc(backends.priority), asc(backends.id));
  return { items: page.items.map((model) => ({ model, backends: backendRows.filter((b) => b.modelId === model.id) })), next: page.next };
}
