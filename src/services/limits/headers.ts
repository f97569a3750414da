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

/**
 * Response fields for the request limits: IETF `RateLimit-Policy` / `RateLimit`
 * (draft-ietf-httpapi-ratelimit-headers-11 structured-field syntax) and OpenAI's `x-ratelimit-*`.
 */
export function rateLimitHeaders(inputs: HeaderInputs, now: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const requestLimits = [
    ...inputs.rates.map((r) => ({ ...r, window: seconds(r.windowMs) as number | null })),
    ...inputs.quotas.map((q) => ({ ...q, window: null as number | null })),
  ];
  if (requestLimits.length) {
    out.push(['ratelimit-policy', requestLimits.map((r) => `"${r.name}";q=${r.limit}${r.window ? `;w=${r.window}` : ''}`).join(', ')]);
    out.push(['ratelimit', requestLimits.map((r) => `"${r.name}";r=${Math.max(0, r.limit - r.taken)};t=${seconds(r.resetAt - now)}`).join(', ')]);
    const tightest = requestLimits.reduce((a, b) => (b.limit - b.taken < a.limit - a.taken ? b : a));
    out.push(['x-ratelimit-limit-requests', String(tightest.limit)]);
    out.push(['x-ratelimit-remaining-requests', String(Math.max(0, tightest.limit - tightest.taken))]);
    out.push(['x-ratelimit-reset-requests', openaiDuration(tightest.resetAt - now)]);
  }
  if (inputs.tpm) {
    out.push(['x-ratelimit-limit-tokens', String(inputs.tpm.limit)]);
    out.push(['x-ratelimit-remaining-tokens', String(Math.max(0, inputs.tpm.limit - inputs.tpm.taken))]);
    out.push(['x-ratelimit-reset-tokens', openaiDuration(inputs.tpm.resetAt - now)]);
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
