import type { BackendRow, ModelRow } from '../db/schema';

/** Billable units of one call, as read from the backend's answer. */
export interface Units {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  predictions: number;
  /** The backend's own usage object, verbatim, when it sent one. */
  raw: string | null;
  /** True when the numbers are the gateway's estimate rather than the backend's word. */
  estimated: boolean;
}

/** Zero units: failed calls and refusals bill nothing. */
export const NO_UNITS: Units = Object.freeze({
  promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, predictions: 0, raw: null, estimated: false,
});

/** The public routes a call can arrive on. */
export type RouteName = 'chat' | 'completions' | 'embeddings' | 'predict' | 'infer';

/** What a protocol adapter is asked to build. */
export interface UpstreamTarget {
  model: ModelRow;
  backend: BackendRow;
  route: RouteName;
}

/**
 * A protocol, declared as data: where to send a call and where its units live in the answer.
 * The proxy loop in proxy.ts is the same for all of them.
 */
export interface Adapter {
  /** Path (with query) on the backend's base URL for this route, or null if the protocol cannot serve it. */
  path(target: UpstreamTarget): string | null;
  /** Units from a parsed JSON answer (OpenAI-style protocols). */
  unitsFromJson?(body: unknown): Units;
}

/** A response from a backend, runtime-neutral: Node's undici and Workers' fetch both fit. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array>;
  /** Stops reading and releases the connection. */
  abort(): void;
}

/** What the proxy sends to a backend. */
export interface UpstreamRequest {
  baseUrl: string;
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: Uint8Array | AsyncIterable<Uint8Array> | null;
  /** Time allowed for the response headers, and then between body chunks. */
  timeoutMs: number;
  /** Aborts the call when it fires (the client left); only where the runtime provides one. */
  signal?: AbortSignal;
}

/** Why a backend call failed before any answer arrived. */
export class UpstreamFailure extends Error {
  constructor(
    readonly kind: 'unavailable' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

/** Sends requests to backends; one keep-alive pool per backend on Node. */
export interface UpstreamClient {
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}
