/**
 * Faults the fake injects on demand:
 * - `error_500`: answers 500 `api_error` without applying the request;
 * - `rate_limit_429`: answers 429 `rate_limit` without applying it (the SDK does not retry this);
 * - `timeout`: never answers and applies nothing (the client's timeout fires);
 * - `lost_response`: applies the request, then drops the connection — "applied but the response was lost";
 * - `applied_timeout`: applies the request and never answers.
 */
export type FaultKind = 'error_500' | 'rate_limit_429' | 'timeout' | 'lost_response' | 'applied_timeout';

/** A fault rule: requests whose path starts with `path` (default all) get `kind`, `times` times or with probability `rate`. */
export interface Fault {
  kind: FaultKind;
  path?: string;
  times?: number;
  rate?: number;
}

/** A small seeded PRNG (mulberry32), so fault patterns repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The active fault rules, and how often each kind fired. */
export class FaultPlan {
  private rules: Fault[] = [];
  readonly fired: Record<FaultKind, number> = { error_500: 0, rate_limit_429: 0, timeout: 0, lost_response: 0, applied_timeout: 0 };

  constructor(private readonly random: () => number) {}

  add(fault: Fault): void {
    this.rules.push({ ...fault });
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault to apply to a request on `path`, if any (consumes one of a counted rule's `times`). */
  next(path: string): FaultKind | null {
    for (const rule of this.rules) {
      if (rule.path && !path.startsWith(rule.path)) continue;
      if (rule.times !== undefined) {
        if (rule.times <= 0) continue;
        rule.times--;
      } else if (this.random() >= (rule.rate ?? 1)) continue;
      this.fired[rule.kind]++;
      return rule.kind;
    }
    return null;
  }
}
