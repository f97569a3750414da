import { ServiceError } from '../../domain/errors';
import type { NewUsageEvent } from '../../db/schema';
import type { LedgerSink } from '../../services/ledger';
import type { LimitCaller, LimitsEngine, LimitView, ReserveRequest, ReserveResult } from '../../services/limits/types';
import type { CustomerGate } from './customer-gate';

type Gates = DurableObjectNamespace<CustomerGate>;

const gateOf = (gates: Gates, customerId: string) => gates.get(gates.idFromName(customerId));

/** Only what the engine reads of a caller crosses to the customer's object. */
const plain = (c: LimitCaller): LimitCaller => ({ keyId: c.keyId, customerId: c.customerId, planId: c.planId, limitOverrides: c.limitOverrides });

/**
 * The limits engine on Workers: the customer's Durable Object runs it (one writer per customer across the
 * whole network). Reservations stay in the object, keyed by call id; the object settles a call when its
 * ledger row is committed there (DurableLedger), so settling here does nothing and prices nothing.
 */
export class DurableLimits implements LimitsEngine {
  constructor(private readonly gates: Gates) {}

  async reserve(caller: LimitCaller, request: ReserveRequest): Promise<ReserveResult> {
    const answer = await gateOf(this.gates, caller.customerId).reserve(plain(caller), request);
    if (!answer.ok) throw new ServiceError(answer.code, answer.message, null, answer.headers);
    return { reservation: null, headers: answer.headers, tokenCap: answer.tokenCap };
  }

  /** The customer's object settles and prices the call when its ledger row arrives (it fills in the cost). */
  settle(): number {
    return 0;
  }

  describe(caller: LimitCaller): Promise<LimitView[]> {
    return gateOf(this.gates, caller.customerId).describe(plain(caller));
  }

  peekHeaders(caller: LimitCaller): Promise<Array<[string, string]>> {
    return gateOf(this.gates, caller.customerId).peekHeaders(plain(caller));
  }
}

/**
 * The ledger on Workers: each row is committed in its customer's Durable Object, which settles the call's
 * reservation with the row's units and prices it in the same step. `record` resolves once the row is
 * durable there; D1 gets a copy within seconds (the object's alarm), or at once through `caughtUp`.
 */
export class DurableLedger implements LedgerSink {
  constructor(private readonly gates: Gates) {}

  async record(row: NewUsageEvent): Promise<void> {
    await gateOf(this.gates, row.customerId).commit(row);
  }

  /** Every commit is durable when `record` resolves: nothing is queued in the isolate. */
  async flush(): Promise<void> {}

  async caughtUp(customerId: string): Promise<void> {
    await gateOf(this.gates, customerId).copyNow();
  }
}
