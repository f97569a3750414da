import type { Deps } from '../context';
import { joinChunks } from '../domain/bytes';
import { ServiceError } from '../domain/errors';
import { recordCall, type CallRecord } from '../services/ledger';
import { clientHeaders, upstreamHeaders } from './headers';
import { unitsFromHeader } from './prediction-units';
import { SseMeter } from './sse-meter';
import { HoldLastChunk, relayStream, type RelayEnd, type StreamFilter } from './stream-relay';
import { NO_UNITS, UpstreamFailure, type Adapter, type UpstreamResponse, type UpstreamTarget, type Units } from './types';

/** How the units of a call are found. */
export type Metering =
  | { kind: 'openai'; clientWantsUsage: boolean; estimatePromptTokens: () => number }
  | { kind: 'predict'; units: 'request' | 'instances' | 'header' | 'tokens'; instances: number; unitHeader: string | null };

/** One call, ready to forward. */
export interface ProxyCall {
  call: CallRecord;
  requestId: string;
  target: UpstreamTarget;
  adapter: Adapter;
  path: string;
  body: Uint8Array | AsyncIterable<Uint8Array>;
  clientHeaders: Headers;
  metering: Metering;
  /**
   * Whether the client has gone away. Asked only at the few points where it changes the outcome (a signal
   * listener on every backend call measurably cost the hot path).
   */
  clientGone?: () => boolean;
  /** Fires when the client disconnects (Workers): the backend call is aborted with it. */
  clientSignal?: AbortSignal;
}

/**
 * The proxy loop, the same for every protocol: send, then either buffer a JSON answer (OpenAI usage is
 * in it) or relay a stream; in both cases the ledger row is committed before the last byte goes out.
 */
export async function proxy(deps: Deps, p: ProxyCall): Promise<Response> {
  const upstream = await send(deps, p);
  if (p.clientGone?.()) {
    upstream.abort();
    throw new ServiceError('client_closed', 'The client closed the connection before the backend answered.');
  }
  if (upstream.status >= 500) {
    upstream.abort();
    throw new ServiceError('upstream_error', `The model backend answered with status ${upstream.status}.`);
  }
  const headers = clientHeaders(upstream.headers, p.requestId);
  for (const [name, value] of p.call.limitHeaders ?? []) headers[name] = value;
  const contentType = String(upstream.headers['content-type'] ?? '');
  if (upstream.status >= 400 || (p.metering.kind === 'openai' && !contentType.startsWith('text/event-stream'))) {
    return buffered(deps, p, upstream, headers);
  }
  const meter = p.metering.kind === 'openai' ? new SseMeter(p.metering.clientWantsUsage) : null;
  const plain = meter ? null : new HoldLastChunk();
  const filter: StreamFilter = meter ?? plain!;
  const settle = (end: RelayEnd) => {
    const errorCode = end.kind === 'client-aborted' ? 'client_aborted' : end.kind === 'upstream-failed' ? 'upstream_stream_error' : null;
    // A stream cut before anything reached the client bills nothing and releases its whole reservation:
    // it is recorded with the status the client effectively got (499 client gone, 502 backend broke off).
    const nothingDelivered = meter ? meter.deliveredEvents === 0 && !meter.usage : plain!.released === 0;
    if (end.kind !== 'complete' && nothingDelivered) {
      return recordCall(deps, p.call, { status: end.kind === 'client-aborted' ? 499 : 502, units: NO_UNITS, errorCode, finishedAt: deps.now() });
    }
    const units = meter ? streamUnits(meter, p.metering, end) : predictUnits(p.metering, upstream, end.kind !== 'complete');
    return recordCall(deps, p.call, { status: upstream.status, units, errorCode, finishedAt: deps.now() });
  };
  return new Response(relayStream(upstream.body, filter, settle, upstream.abort, p.clientGone), { status: upstream.status, headers });
}

async function send(deps: Deps, p: ProxyCall): Promise<UpstreamResponse> {
  const { backend } = p.target;
  const credential = backend.credentialEnv ? deps.secret(backend.credentialEnv) : undefined;
  try {
    return await deps.upstream.request({
      baseUrl: backend.baseUrl,
      path: p.path,
      method: 'POST',
      headers: upstreamHeaders(p.clientHeaders, p.requestId, credential),
      body: p.body,
      timeoutMs: backend.timeoutMs,
      signal: p.clientSignal,
    });
  } catch (error) {
    // The client's signal aborted the call (Workers): say so, rather than blame the backend.
    if (p.clientSignal?.aborted) throw new ServiceError('client_closed', 'The client closed the connection before the backend answered.');
    if (error instanceof UpstreamFailure) {
      throw new ServiceError(error.kind === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable', error.message);
    }
    throw error;
  }
}

/** Reads a whole (bounded) answer, takes its units, commits the ledger row, then answers. */
async function buffered(deps: Deps, p: ProxyCall, upstream: UpstreamResponse, headers: Record<string, string>): Promise<Response> {
  let bytes: Uint8Array;
  try {
    bytes = await readAll(upstream.body, deps.limits.maxResponseBytes);
  } catch (error) {
    upstream.abort();
    if (p.clientGone?.()) throw new ServiceError('client_closed', 'The client closed the connection during the answer.');
    if (error instanceof ServiceError) throw error;
    const failure = error instanceof UpstreamFailure ? error : null;
    throw new ServiceError(failure?.kind === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable', 'The model backend broke off its answer.');
  }
  let units: Units = NO_UNITS;
  if (upstream.status < 400) {
    if (p.metering.kind === 'openai') units = p.adapter.unitsFromJson?.(parseJson(bytes)) ?? NO_UNITS;
    else units = predictUnits(p.metering, upstream, false);
  }
  await recordCall(deps, p.call, {
    status: upstream.status,
    units,
    errorCode: upstream.status >= 400 ? 'upstream_rejected' : null,
    finishedAt: deps.now(),
  });
  return new Response(bytes as Uint8Array<ArrayBuffer>, { status: upstream.status, headers });
}

function streamUnits(meter: SseMeter, metering: Metering, end: RelayEnd): Units {
  if (end.kind === 'complete' && meter.usage) return meter.usage;
  const estimatePrompt = metering.kind === 'openai' ? metering.estimatePromptTokens() : 0;
  return {
    ...NO_UNITS,
    promptTokens: meter.usage?.promptTokens ?? estimatePrompt,
    completionTokens: meter.usage?.completionTokens ?? meter.deliveredEvents,
    raw: meter.usage?.raw ?? null,
    estimated: true,
  };
}

function predictUnits(metering: Metering, upstream: UpstreamResponse, cutShort: boolean): Units {
  if (metering.kind !== 'predict') return NO_UNITS;
  let predictions = 1;
  let estimated = cutShort;
  if (metering.units === 'instances') predictions = metering.instances;
  if (metering.units === 'header') {
    const fromHeader = unitsFromHeader(upstream.headers[metering.unitHeader?.toLowerCase() ?? '']);
    predictions = fromHeader ?? 1;
    estimated ||= fromHeader === null;
  }
  return { ...NO_UNITS, predictions, estimated };
}

async function readAll(body: AsyncIterable<Uint8Array>, max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) throw new ServiceError('upstream_error', `The model backend's answer exceeds ${max} bytes.`);
    chunks.push(chunk);
  }
  return joinChunks(chunks, size);
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}
