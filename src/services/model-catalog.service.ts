import { findModel, type ModelWithBackends } from '../db/repos/models.repo';
import type { BackendRow } from '../db/schema';
import type { Db } from '../db/types';
import { ServiceError } from '../domain/errors';
import type { ChangeWatch } from './change-watch';

/** Model entries by public name, cached in memory and dropped on any admin change. */
export class ModelCatalog {
  private readonly cache = new Map<string, ModelWithBackends | null>();
  /** Bumped whenever the cache is dropped: a lookup that was in flight then is not cached (it may be stale). */
  private generation = 0;

  constructor(
    private readonly db: Db,
    changes: ChangeWatch,
    private readonly random: () => number = Math.random,
  ) {
    changes.subscribe(() => {
      this.cache.clear();
      this.generation++;
    });
  }

  /** The model `name` for a caller allowed `allowed` (null = all); throws not found / not allowed. */
  async resolve(name: string, allowed: string[] | null): Promise<ModelWithBackends> {
    let entry = this.cache.get(name);
    if (entry === undefined) {
      const generation = this.generation;
      entry = (await findModel(this.db, name)) ?? null;
      if (generation === this.generation) {
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(name, entry);
      }
    }
    if (!entry) throw new ServiceError('model_not_found', `The model '${name}' does not exist.`, 'model');
    if (allowed && !allowed.includes(name)) {
      throw new ServiceError('model_not_allowed', `This API key may not call the model '${name}'.`, 'model');
    }
    return entry;
  }

  /** Picks a backend: the lowest priority number wins; weights split traffic within it. */
  pickBackend(entry: ModelWithBackends): BackendRow {
    const { backends } = entry;
    if (backends.length === 0) throw new ServiceError('no_backend', `The model '${entry.model.name}' has no backend.`);
    if (backends.length === 1) return backends[0];
    const top = backends.filter((b) => b.priority === backends[0].priority);
    const totalWeight = top.reduce((sum, b) => sum + b.weight, 0);
    let roll = this.random() * totalWeight;
    for (const backend of top) {
      roll -= backend.weight;
      if (roll < 0) return backend;
    }
    return top[top.length - 1];
  }
}
