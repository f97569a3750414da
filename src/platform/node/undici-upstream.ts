import { Pool, errors } from 'undici';
import { UpstreamFailure, type UpstreamClient, type UpstreamRequest, type UpstreamResponse } from '../../backends/types';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * One undici keep-alive Pool per backend origin (Node 20's global fetch costs about ten times more CPU per
 * proxied call). Pools are created on first use and live until close().
 */
export class UndiciUpstream implements UpstreamClient {
  private readonly pools = new Map<string, { pool: Pool; basePath: string }>();

  constructor(private readonly connectionsPerBackend = 128) {}

  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const { pool, basePath } = this.poolFor(req.baseUrl);
    try {
      const res = await pool.request({
        path: basePath + req.path,
        method: req.method,
        headers: req.headers,
        body: req.body as never,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      return {
        status: res.statusCode,
        headers: res.headers,
        body: mapBodyErrors(res.body),
        // An unread body destroyed without a listener would raise an uncaught 'error'.
        abort: () => res.body.on('error', () => {}).destroy(),
      };
    } catch (error) {
      throw toFailure(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map(({ pool }) => pool.close()));
    this.pools.clear();
  }

  private poolFor(baseUrl: string) {
    let entry = this.pools.get(baseUrl);
    if (!entry) {
      const url = new URL(baseUrl);
      entry = {
        pool: new Pool(url.origin, { connections: this.connectionsPerBackend, keepAliveTimeout: 30_000, pipelining: 1 }),
        basePath: url.pathname.replace(/\/$/, ''),
      };
      this.pools.set(baseUrl, entry);
    }
    return entry;
  }
}

/** Maps undici and socket errors to the two failures the gateway reports (502 / 504). */
export function toFailure(error: unknown): UpstreamFailure | unknown {
  if (error instanceof UpstreamFailure) return error;
  const code = (error as { code?: string } | null)?.code ?? '';
  if (TIMEOUT_CODES.has(code) || error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) {
    return new UpstreamFailure('timeout', 'the model backend did not answer in time');
  }
  if (code.startsWith('UND_ERR') || code.startsWith('E') || error instanceof errors.UndiciError) {
    return new UpstreamFailure('unavailable', `the model backend could not be reached (${code || 'connection failed'})`);
  }
  return error;
}

/** The body as an async iterable whose failures are UpstreamFailures, so callers never see undici types. */
async function* mapBodyErrors(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    const failure = toFailure(error);
    if (failure instanceof UpstreamFailure && failure.kind === 'unavailable') {
      throw new UpstreamFailure('unavailable', `the model backend broke off its answer (${(error as { code?: string }).code ?? 'closed'})`);
    }
    throw failure;
  }
}
