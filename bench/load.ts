import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';

/** A small chat completion request, the same for every scenario. */
export const CHAT_BODY = JSON.stringify({
  model: 'bench',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say hello in five words.' },
  ],
  max_tokens: 16,
});

/** One phase of load. */
export interface PhaseResult {
  completed: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  /** Responses per status code. */
  statuses: Record<string, number>;
  /** From the first request sent to the last response. */
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** CPU time this process (the load generator) spent over `seconds`, in microseconds. */
  loadgenMicros: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Keys to present; with several, each connection cycles through all of them. Empty: no auth header. */
  secrets: string[];
  warmupSeconds: number;
  seconds: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Sends exactly `amount` requests (autocannon's `amount` mode), so every request sent is answered
 * before the phase ends: none is cut off in flight, and the ledger must hold one row per response.
 * Rate and percentiles come from our own clock and sub-millisecond response times (autocannon's
 * histogram rounds latencies to whole milliseconds and its duration to its next 1 s tick).
 */
async function phase(opts: LoadOptions, amount: number): Promise<PhaseResult> {
  const path = new URL(opts.url).pathname.replace(/\/$/, '') + '/v1/chat/completions';
  const base = { 'content-type': 'application/json' };
  const requests = (opts.secrets.length ? opts.secrets : ['']).map((secret) => ({
    method: 'POST',
    path,
    headers: secret ? { ...base, authorization: `Bearer ${secret}` } : base,
    body: CHAT_BODY,
  }));
  const latencies = new Float64Array(amount + opts.connections * 4);
  let n = 0;
  let last = 0;
  // Clients build their request buffers synchronously inside autocannon(); the clock starts after that.
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    pipelining: 1,
    amount,
    timeout: 10,
    requests,
  });
  instance.once('start', () => {
    t0 = performance.now();
    cpu0 = process.cpuUsage();
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    if (n < latencies.length) latencies[n++] = ms;
    last = performance.now();
  });
  const result = await instance;
  const cpu = process.cpuUsage(cpu0);
  const sorted = latencies.subarray(0, n).sort();
  const completed = result['2xx'] + result.non2xx;
  const seconds = ((last || performance.now()) - t0) / 1000;
  return {
    completed,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    seconds,
    rps: completed / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    loadgenMicros: cpu.user + cpu.system,
  };
}

/** Total answers over several phases (for the ledger check). */
export function sumPhases(phases: PhaseResult[]): { ok2xx: number; non2xx: number; errors: number; statuses: Record<string, number> } {
  const statuses: Record<string, number> = {};
  for (const p of phases) for (const [code, count] of Object.entries(p.statuses)) statuses[code] = (statuses[code] ?? 0) + count;
  return phases.reduce(
    (acc, p) => ({ ok2xx: acc.ok2xx + p.ok2xx, non2xx: acc.non2xx + p.non2xx, errors: acc.errors + p.errors, statuses }),
    { ok2xx: 0, non2xx: 0, errors: 0, statuses },
  );
}

/**
 * Warms up in short phases until `warmupSeconds` have passed (the first ones run on cold JIT), then
 * measures one phase sized to last about `seconds` at the warmed-up rate. `during` wraps the measured
 * phase (used to sample the children's CPU time around it).
 */
export async function runLoad(
  opts: LoadOptions,
  during: (measure: () => Promise<PhaseResult>) => Promise<PhaseResult> = (m) => m(),
): Promise<{ measured: PhaseResult; all: PhaseResult[] }> {
  const c = opts.connections;
  const all: PhaseResult[] = [await phase(opts, c * 20)];
  let warmed = all[0].seconds;
  while (warmed < opts.warmupSeconds) {
    const chunk = Math.min(1, opts.warmupSeconds - warmed + 0.05);
    const p = await phase(opts, Math.max(c * 10, Math.round(all[all.length - 1].rps * chunk)));
    all.push(p);
    warmed += p.seconds;
  }
  const rate = all[all.length - 1].rps;
  const measured = await during(() => phase(opts, Math.max(c * 20, Math.round(rate * opts.seconds))));
  all.push(measured);
  return { measured, all };
}
