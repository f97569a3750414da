import { findPlan } from '../../db/repos/plans.repo';
import type { Db } from '../../db/types';
import { compileLimits, type CompiledLimits } from '../../domain/limits/compile';
import { PlanLimitsSchema, type PlanLimits } from '../../domain/plan-limits';
import type { ChangeWatch } from '../change-watch';
import type { LimitCaller } from './types';

const NONE = compileLimits({});

/** Compiled limits by plan (and key overrides), dropped on any admin change so edits apply on the next request. */
export class PlanLimitsCache {
  private readonly plans = new Map<string, PlanLimits | null>();
  private readonly compiled = new Map<string, CompiledLimits>();
  /** Bumped whenever the caches are dropped: a plan read that was in flight then is not cached (it may be stale). */
  private generation = 0;

  constructor(
    private readonly db: Db,
    changes: ChangeWatch,
  ) {
    changes.subscribe(() => {
      this.plans.clear();
      this.compiled.clear();
      this.generation++;
    });
  }

  /** The compiled limits if they are cached (the synchronous path). */
  peek(caller: LimitCaller): CompiledLimits | undefined {
    return this.compiled.get(cacheKeyOf(caller));
  }

  /** The limits that apply to this caller: its plan's, with its key's overrides on top. */
  async get(caller: LimitCaller): Promise<CompiledLimits> {
    const cacheKey = cacheKeyOf(caller);
    const hit = this.compiled.get(cacheKey);
    if (hit) return hit;
    const generation = this.generation;
    const plan = caller.planId ? await this.plan(caller.planId) : null;
    const overrides = caller.limitOverrides ? PlanLimitsSchema.safeParse(caller.limitOverrides) : null;
    const compiled = !plan && !overrides?.success ? NONE : compileLimits(plan ?? {}, overrides?.success ? overrides.data : null);
    if (generation !== this.generation) return compiled;
    if (this.compiled.size > 10_000) this.compiled.clear();
    this.compiled.set(cacheKey, compiled);
    return compiled;
  }

  private async plan(id: string): Promise<PlanLimits | null> {
    if (this.plans.has(id)) return this.plans.get(id)!;
    const generation = this.generation;
    const row = await findPlan(this.db, id);
    // Limits are validated on write; a document that no longer parses limits nothing rather than failing calls.
    const parsed = row ? PlanLimitsSchema.safeParse(row.limits) : null;
    const limits = parsed?.success ? parsed.data : null;
    if (generation === this.generation) this.plans.set(id, limits);
    return limits;
  }
}

function cacheKeyOf(caller: LimitCaller): string {
  return caller.limitOverrides ? `${caller.planId}|${caller.keyId}` : (caller.planId ?? '');
}
