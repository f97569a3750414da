import { UpstreamFailure, type UpstreamClient, type UpstreamRequest, type UpstreamResponse } from '../../backends/types';

/**
 * Backend calls with the Workers runtime's fetch (connection reuse is the runtime's). The timeout covers
 * the response headers and then each gap between body chunks, as undici's does on Node.
 */
export class FetchUpstream implements UpstreamClient {
  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const controller = new AbortController();
    // The client leaving aborts the backend call too (the runtime fires the request's signal).
    if (req.signal?.aborted) controller.abort();
    else req.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    let timedOut = false;
    let timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, req.timeoutMs);
    let res: Response;
    try {
      res = await fetch(joinUrl(req.baseUrl, req.path), {
        method: req.method,
        headers: req.headers,
        body: toBody(req.body),
        signal: controller.signal,
      });
    } catch (error) {
      clearTimeout(timer);
      if (timedOut) throw new UpstreamFailure('timeout', 'the model backend did not answer in time');
      throw new UpstreamFailure('unavailable', `the model backend could not be reached (${(error as Error).message})`);
    }
    clearTimeout(timer);
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const stream = res.body;
    async function* body(): AsyncIterable<Uint8Array> {
      if (!stream) return;
      const reader = stream.getReader();
      try {
        for (;;) {
          timer = setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, req.timeoutMs);
          let step: ReadableStreamReadResult<Uint8Array>;
          try {
            step = await reader.read();
          } catch (error) {
            if (timedOut) throw new UpstreamFailure('timeout', 'the model backend stopped sending in time');
            throw new UpstreamFailure('unavailable', `the model backend broke off its answer (${(error as Error).message})`);
          } finally {
            clearTimeout(timer);
          }
          if (step.done) return;
          yield step.value;
        }
      } finally {
        reader.releaseLock();
      }
    }
    return {
      status: res.status,
      headers,
      body: body(),
      abort: () => {
        clearTimeout(timer);
        controller.abort();
      },
    };
  }

  async close(): Promise<void> {}
}

/** The backend's base URL (which may carry a path, such as `/v1`) joined with the route's path. */
function joinUrl(base: string, path: string): string {
  return base.replace(/\/$/, '') + path;
}

function toBody(body: UpstreamRequest['body']): BodyInit | null {
  if (body === null || body instanceof Uint8Array) return body;
  const iterator = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
