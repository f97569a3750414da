import type { Context } from 'hono';
import type { RouteName } from '../../backends/types';
import type { AppEnv } from '../../context';
import type { CallRecord } from '../../services/ledger';
import type { ReserveRequest } from '../../services/limits/types';

/** Opens the ledger record of a metered call; from here on every outcome writes exactly one row. */
export function startCall(c: Context<AppEnv>, route: RouteName, model: string): CallRecord {
  const caller = c.get('caller');
  const deps = c.get('deps');
  const requestId = c.get('requestId');
  const call: CallRecord = {
    id: requestId,
    keyId: caller.keyId,
    customerId: caller.customerId,
    route,
    model,
    backendId: null,
    stream: false,
    startedAt: deps.now(),
    recorded: false,
    reservation: null,
    limitHeaders: null,
    tokenCap: null,
  };
  if (deps.keepAlive) {
    // Workers: the call's settlement and ledger commit outlive a client that disconnects mid-call.
    deps.keepAlive(c, new Promise<void>((resolve) => (call.onRecorded = resolve)));
  }
  c.set('call', call);
  return call;
}

/** Reserves the call's possible cost under the caller's plan, or throws the 429 that says why not. */
export async function reserveLimits(c: Context<AppEnv>, call: CallRecord, request: ReserveRequest): Promise<void> {
  const deps = c.get('deps');
  const caller = c.get('caller');
  // From here the limits were consulted: a refusal carries its own fields (and must not be re-read).
  call.limitHeaders = [];
  const { reservation, headers, tokenCap } = await deps.limiter.reserve(caller, request);
  call.reservation = reservation;
  call.limitHeaders = headers;
  call.tokenCap = tokenCap;
}

/**
 * How the proxy learns that the client left: Node reads the response's socket state when asked; Workers
 * hand over the request's abort signal, which also cuts the backend call short the moment it fires.
 */
export function clientWatch(c: Context<AppEnv>): { clientGone: () => boolean; clientSignal?: AbortSignal } {
  const deps = c.get('deps');
  const signal = deps.clientSignal?.(c.req.raw);
  if (signal) return { clientGone: () => signal.aborted, clientSignal: signal };
  return { clientGone: () => deps.clientGone(c.env), clientSignal: undefined };
}
