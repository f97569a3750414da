import { ServiceError } from '../../domain/errors';
import type { NewUsageEvent } from '../../db/schema';
import type { LedgerSink } from '../../services/ledger';
import type { LimitCaller, LimitsEngine, LimitView, ReserveRequest, ReserveResult } from '../../services/limits/types';
import type { CustomerGate } from './customer-gate';

type Gates = DurableObjectNamespace<CustomerGate>;
/** Header pairs (RPC typing widens tuples to arrays). */
type Pairs = Array<[string, string]>;

const gateOf = (gates: Gates, customerId: string) => gates.get(gates.idFromName(customerId));

/** Only what the engine reads of a caller crosses to the customer's object. */
const plain = (c: LimitCaller): LimitCaller => ({ keyId: c.keyId, customerId: c.customerId, planId: c.planId, limitOverrides: c.limitOverrides });

/**
 * The limits engine on Workers: the customer's Durable Object runs it (one writer per customer across the
 * whole network). Reservations stay in the object, keyed by call id; the object settles a call when its
 * ledger row is committed there (DurableLedger), so settling here does nothing and prices nothing.
 */
export class DurableLimits implements LimitsEngine {
  /**
   * `changedAt` is when this isolate last changed admin data (0: never). Every call to a customer's
   * object carries it, and an object that has not yet heard of that change drops its plan and credit
   * caches first — so a plan edit applies to the next request routed through the isolate that made it,
   * and everywhere else within a second (the object's own cache lifetime).
   */
  constructor(
    private readonly gates: Gates,
    private readonly changedAt: () => number,
  ) {}

  async reserve(caller: LimitCaller, request: ReserveRequest): Promise<ReserveResult> {
    const answer = await gateOf(this.gates, caller.customerId).reserve(plain(caller), request, this.changedAt());
    if (!answer.ok) throw new ServiceError(answer.code, answer.message, null, answer.headers as Pairs);
    return { reservation: null, headers: answer.headers as Pairs, tokenCap: answer.tokenCap };
  }

  /** The customer's object settles and prices the call when its ledger row arrives (it fills in the cost). */
  settle(): number {
    return 0;
  }

  describe(caller: LimitCaller): Promise<LimitView[]> {
    return gateOf(this.gates, caller.customerId).describe(plain(caller), this.changedAt());
  }

  async peekHeaders(caller: LimitCaller): Promise<Pairs> {
    return (await gateOf(this.gates, caller.customerId).peekHeaders(plain(caller), this.changedAt())) as unknown as Pairs;
  }
}

/**
 * The ledger on Workers: each row is committed in its customer's Durable Object, which settles the call's
 * reservation with the row's units and prices it in the same step. `record` resolves once the row is
 * durable there; D1 gets a copy within seconds (the object's alarm), or at once through `caughtUp`.
 */
export class DurableLedger implements LedgerSink {
  constructor(
    private readonly gates: Gates,
    private readonly customerIds: () => Promise<string[]>,
  ) {}

  /**
   * Commits the row in its customer's object. A commit is idempotent (by row id), so one the runtime says
   * may be retried — the object was reset by a deploy, or the connection to it broke — is sent again.
   */
  async record(row: NewUsageEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await gateOf(this.gates, row.customerId).commit(row);
        return;
      } catch (error) {
        const e = error as { retryable?: boolean; overloaded?: boolean } | null;
        if (!e?.retryable || e.overloaded || attempt === 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25 * attempt * attempt));
      }
    }
  }

  /** Every commit is durable when `record` resolves: nothing is queued in the isolate. */
  async flush(): Promise<void> {}

  /** Asks the customer's object (or every customer's, eight at a time) to copy its rows to D1 now. */
  async caughtUp(customerId?: string): Promise<void> {
    if (customerId) {
      await gateOf(this.gates, customerId).copyNow();
      return;
    }
    const ids = await this.customerIds();
    // One object failing to copy does not hold up the rest; its rows follow with its alarm.
    for (let i = 0; i < ids.length; i += 8) await Promise.allSettled(ids.slice(i, i + 8).map((id) => gateOf(this.gates, id).copyNow()));
  }
}
