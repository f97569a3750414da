import type { LimitView } from './types';

/** Limit states that the response fields report. `taken` includes the current request. */
export interface HeaderInputs {
  rates: Array<{ name: string; limit: number; taken: number; windowMs: number; resetAt: number }>;
  tpm: { limit: number; taken: number; resetAt: number } | null;
  quotas: Array<{ name: string; limit: number; taken: number; resetAt: number }>;
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** OpenAI's reset format: `1s`, `6m0s`, `2h3m4s`. */
export function openaiDuration(ms: number): string {
  let s = seconds(ms);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** `RateLimit-Policy` values by compiled limits: the policies are fixed per plan, so built once. */
const policyCache = new WeakMap<object, string>();

/**
 * Response fields for the request limits: IETF `RateLimit-Policy` / `RateLimit`
 * (draft-ietf-httpapi-ratelimit-headers-11 structured-field syntax) and OpenAI's `x-ratelimit-*`.
 * Runs on every limited call, so it is plain loops and string concatenation. `policyKey` (the compiled
 * limits) lets the fixed policy field be reused.
 */
export function rateLimitHeaders(inputs: HeaderInputs, now: number, policyKey?: object): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const count = inputs.rates.length + inputs.quotas.length;
  if (count) {
    let policy = policyKey ? policyCache.get(policyKey) : undefined;
    let state = '';
    let tightest: { limit: number; taken: number; resetAt: number } | null = null;
    const build = policy === undefined;
    if (build) policy = '';
    for (let i = 0; i < count; i++) {
      const isRate = i < inputs.rates.length;
      const r = isRate ? inputs.rates[i] : inputs.quotas[i - inputs.rates.length];
      const sep = i ? ', ' : '';
      if (build) policy += `${sep}"${r.name}";q=${r.limit}${isRate ? `;w=${seconds((r as HeaderInputs['rates'][number]).windowMs)}` : ''}`;
      state += `${sep}"${r.name}";r=${Math.max(0, r.limit - r.taken)};t=${seconds(r.resetAt - now)}`;
      if (!tightest || r.limit - r.taken < tightest.limit - tightest.taken) tightest = r;
    }
    if (build && policyKey) policyCache.set(policyKey, policy!);
    out.push(['ratelimit-policy', policy!], ['ratelimit', state]);
    out.push(
      ['x-ratelimit-limit-requests', String(tightest!.limit)],
      ['x-ratelimit-remaining-requests', String(Math.max(0, tightest!.limit - tightest!.taken))],
      ['x-ratelimit-reset-requests', openaiDuration(tightest!.resetAt - now)],
    );
  }
  if (inputs.tpm) {
    out.push(
      ['x-ratelimit-limit-tokens', String(inputs.tpm.limit)],
      ['x-ratelimit-remaining-tokens', String(Math.max(0, inputs.tpm.limit - inputs.tpm.taken))],
      ['x-ratelimit-reset-tokens', openaiDuration(inputs.tpm.resetAt - now)],
    );
  }
  return out;
}

/** The same fields from the caller's current limit states, when no call is reserving (nothing is taken). */
export function headersFromViews(views: LimitView[], now: number): Array<[string, string]> {
  const at = (v: LimitView) => (v.resetsAt ? Date.parse(v.resetsAt) : now);
  // A `both`-scoped limit appears once per scope: its two policies are named apart, as when reserving.
  const seen = new Map<string, number>();
  for (const v of views) seen.set(v.name, (seen.get(v.name) ?? 0) + 1);
  const name = (v: LimitView) => ((seen.get(v.name) ?? 0) > 1 ? `${v.name}-${v.scope}` : v.name);
  const inputs: HeaderInputs = {
    rates: views.filter((v) => v.kind === 'rate').map((v) => ({ name: name(v), limit: v.limit ?? 0, taken: v.used, windowMs: (v.windowSeconds ?? 0) * 1000, resetAt: at(v) })),
    tpm: null,
    quotas: views.filter((v) => v.kind === 'quota' && v.unit === 'requests').map((v) => ({ name: name(v), limit: v.limit ?? 0, taken: v.used + v.reserved, resetAt: at(v) })),
  };
  const tpm = views.find((v) => v.kind === 'tokens_per_minute');
  if (tpm) inputs.tpm = { limit: tpm.limit ?? 0, taken: tpm.used + tpm.reserved, resetAt: at(tpm) };
  return rateLimitHeaders(inputs, now);
}
