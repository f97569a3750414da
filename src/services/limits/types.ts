import type { Units } from '../../backends/types';
import type { CompiledLimits } from '../../domain/limits/compile';
import type { PeriodCounter } from './counters';
import type { CreditState, SubjectState } from './subjects';

/** What a call may cost, estimated before it is forwarded. */
export interface ReserveRequest {
  model: string;
  /** Estimated prompt tokens (0 for predict/infer). */
  promptTokens: number;
  /** Completion tokens the call may produce (max_tokens); null = the plan's default cap. */
  maxTokens: number | null;
  /** Predictions the call may produce (batch size, or 1). */
  predictions: number;
  /** Completions asked for at once (`n`): each may use the whole completion cap. */
  choices?: number;
  /** The call (and its ledger row) this reservation is for; engines that keep reservations apart key them by it. */
  callId?: string;
}

/** What reserving answers: the reservation to settle, the rate-limit response fields, the completion cap. */
export interface ReserveResult {
  reservation: Reservation | null;
  headers: Array<[string, string]>;
  /**
   * The completion-token cap a call that names none is held to (its reservation assumed it), or null when
   * the plan neither limits nor prices tokens.
   */
  tokenCap: number | null;
}

/** What a held amount is of, and so which actual amount settles it. */
export type HeldUnit = 'tokens' | 'weightedTokens' | 'requests' | 'predictions' | 'cost';

/**
 * One amount a reservation holds on a counter, settled with the actual amount: a minute's tokens
 * (`tpm`), a period counter (`period`) or a customer's credits (`credits`). Plain data, no closures:
 * this is allocated on every limited call.
 */
export interface Hold {
  counter: { reserved: number };
  amount: number;
  unit: HeldUnit;
  kind: 'tpm' | 'period' | 'credits';
}

/** What the engine holds for one call until it settles. Settling twice is impossible (`settled`). */
export interface Reservation {
  limits: CompiledLimits;
  model: string;
  customerId: string;
  request: ReserveRequest;
  /** Release-only holds: concurrency slots. */
  slots: Array<{ inflight: number }>;
  /** Held amounts, settled against actual units. */
  holds: Hold[];
  /** The key and customer states this reservation keeps from eviction. */
  subjects: SubjectState[];
  /** Spend counters, for alert thresholds at settlement. */
  budget: PeriodCounter | null;
  credits: CreditState | null;
  /** When the reservation was taken; its units count in the period holding this time (like the ledger row). */
  at: number;
  settled: boolean;
}

/** A budget or credit threshold crossed for the first time in its period. */
export interface ThresholdCrossing {
  customerId: string;
  kind: 'budget' | 'credits';
  thresholdPercent: number;
  periodStart: number;
  usedMicros: number;
  limitMicros: number;
  /** The plan's currency (ISO 4217, lower case), in which used and limit are counted. */
  currency: string;
  at: number;
}

/** Receives threshold crossings; must return at once (delivery happens elsewhere). */
export interface AlertSink {
  crossed(event: ThresholdCrossing): void;
}

/** One limit as the caller sees it in GET /v1/usage. */
export interface LimitView {
  name: string;
  /** Window length, for rate limits. */
  windowSeconds?: number;
  kind: 'rate' | 'tokens_per_minute' | 'concurrency' | 'quota' | 'budget' | 'credits';
  scope: 'key' | 'customer';
  unit: string;
  limit: number | null;
  used: number;
  reserved: number;
  remaining: number | null;
  resetsAt: string | null;
  mode?: 'hard' | 'soft';
  overage?: number;
}

/**
 * The limits engine: exact reserve → settle over a plan's limits. Node runs it in memory in the gateway
 * process; Workers run the same engine in each customer's Durable Object and reach it over RPC.
 */
export interface LimitsEngine {
  /** Reserves the call's possible cost or throws a 429 ServiceError; returns the rate-limit response fields. */
  reserve(caller: LimitCaller, request: ReserveRequest): Promise<ReserveResult>;
  /** Settles a reservation with what the call really used (zero units for a failed call); returns its cost. */
  settle(reservation: Reservation | null, units: Units, billable: boolean): number;
  /** Every limit's state for this caller. */
  describe(caller: LimitCaller): Promise<LimitView[]>;
  /** The rate-limit response fields for a keyed answer that reserved nothing (listings, early errors). */
  peekHeaders(caller: LimitCaller): Promise<Array<[string, string]>>;
}

/** What the engine needs to know about the caller. */
export interface LimitCaller {
  keyId: string;
  customerId: string;
  planId: string | null;
  limitOverrides: Record<string, unknown> | null;
}
