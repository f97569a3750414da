import type { UpstreamClient } from './backends/types';
import type { Db } from './db/types';
import type { AdminPrincipal, AdminTokenVerifier } from './services/admin-token.service';
import type { BillingRuntime } from './services/billing/billing-deps';
import type { ChangeWatch } from './services/change-watch';
import type { CallRecord, LedgerSink } from './services/ledger';
import type { LimitsEngine } from './services/limits/types';
import type { ModelCatalog } from './services/model-catalog.service';
import type { Caller, KeyVerifier } from './services/verify-key.service';

/** Limits the HTTP layer enforces on every request. */
export interface HttpLimits {
  maxBodyBytes: number;
  maxResponseBytes: number;
}

/** Everything the app needs, built once by the runtime's entry (the composition root). */
export interface Deps {
  db: Db;
  now(): number;
  changes: ChangeWatch;
  keys: KeyVerifier;
  models: ModelCatalog;
  ledger: LedgerSink;
  /** Plans' rate limits, quotas, credits and budgets: reserve before forwarding, settle with the ledger row. */
  limiter: LimitsEngine;
  upstream: UpstreamClient;
  /**
   * Whether the client behind a request has gone away, from the runtime's request bindings (`c.env`).
   * Node reads the response's socket state: creating an AbortSignal per request cost the hot path.
   */
  clientGone(env: unknown): boolean;
  /**
   * The request's abort signal where the runtime fires it when the client disconnects (Workers); the proxy
   * then aborts the backend call at once. Absent on Node (a signal per request measurably cost the hot path).
   */
  clientSignal?(request: Request): AbortSignal | undefined;
  /**
   * Keeps the runtime working on `work` after the client is gone (Workers' `waitUntil`): a keyed call's
   * settlement and ledger commit must finish even when the client disconnects mid-call. Absent on Node,
   * where the process lives on anyway.
   */
  keepAlive?(c: { readonly executionCtx: { waitUntil(work: Promise<unknown>): void } }, work: Promise<unknown>): void;
  /** Reads a backend credential by env var name; never from the request. */
  secret(name: string): string | undefined;
  limits: HttpLimits;
  log(level: 'info' | 'error', message: string, fields?: Record<string, unknown>): void;
  /** Verifies admin API tokens; absent or null means the admin API is off (it says so, never opens). */
  adminAuth?: AdminTokenVerifier | null;
  /** Reads a static file of the docs page (Swagger UI) by name; null when there is no such file. */
  docsAsset?(name: string): Promise<Uint8Array | null>;
  /** Stripe billing (webhooks, sync, reconcile); absent when the entry does not wire it. */
  billing?: BillingRuntime;
}

/** Hono environment: per-request variables set by middleware. */
export interface AppEnv {
  Variables: {
    deps: Deps;
    requestId: string;
    caller: Caller;
    /** The verified admin token's principal, on `/admin/*` only. */
    admin: AdminPrincipal;
    call: CallRecord | undefined;
    errorStyle: 'openai' | 'problem';
  };
}
