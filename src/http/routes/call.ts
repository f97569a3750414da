import type { Context } from 'hono';
import type { RouteName } from '../../backends/types';
import type { AppEnv } from '../../context';
import type { CallRecord } from '../../services/ledger';

/** Opens the ledger record of a metered call; from here on every outcome writes exactly one row. */
export function startCall(c: Context<AppEnv>, route: RouteName, model: string): CallRecord {
  const { caller, deps, requestId } = c.var;
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
  };
  c.set('call', call);
  return call;
}
