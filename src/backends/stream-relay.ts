/** Passes bytes through, possibly changed, holding back a tail until the ledger row is committed. */
export interface StreamFilter {
  push(chunk: Uint8Array): Uint8Array;
  finish(): Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** The plain filter: every chunk goes through one step late, so the last one waits for the commit. */
export class HoldLastChunk implements StreamFilter {
  private held: Uint8Array | null = null;
  /** Bytes released to the client so far (the held chunk is not). */
  released = 0;

  push(chunk: Uint8Array): Uint8Array {
    const out = this.held ?? EMPTY;
    this.held = chunk;
    this.released += out.byteLength;
    return out;
  }

  finish(): Uint8Array {
    const out = this.held ?? EMPTY;
    this.held = null;
    return out;
  }
}

/** How a relayed stream ended, for the ledger. */
export type RelayEnd =
  | { kind: 'complete' }
  | { kind: 'client-aborted' }
  | { kind: 'upstream-failed'; error: unknown };

/**
 * A client-facing stream over an upstream body. Pull-based, so a slow client slows the backend read
 * (nothing piles up in memory). `settle` runs exactly once, when the stream ends for any reason; on a
 * complete stream the held-back tail is sent only after `settle` resolves.
 */
export function relayStream(
  body: AsyncIterable<Uint8Array>,
  filter: StreamFilter,
  settle: (end: RelayEnd) => Promise<void>,
  abortUpstream: () => void,
  clientGone?: () => boolean,
): ReadableStream<Uint8Array> {
  let first = true;
  const iterator = body[Symbol.asyncIterator]();
  let settled = false;
  const settleOnce = (end: RelayEnd) => {
    if (settled) return Promise.resolve();
    settled = true;
    return settle(end);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A client that left before the answer began is never told by the stream itself.
      if (first) {
        first = false;
        if (clientGone?.()) {
          abortUpstream();
          await settleOnce({ kind: 'client-aborted' }).catch(() => {});
          controller.error(new Error('client closed the connection'));
          return;
        }
      }
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) {
            const tail = filter.finish();
            await settleOnce({ kind: 'complete' });
            if (tail.byteLength) controller.enqueue(tail);
            controller.close();
            return;
          }
          const out = filter.push(next.value);
          if (out.byteLength) {
            controller.enqueue(out);
            return;
          }
        }
      } catch (error) {
        // Upstream broke mid-stream, the client left, or the commit failed: the client must not see a clean end.
        await settleOnce(clientGone?.() ? { kind: 'client-aborted' } : { kind: 'upstream-failed', error }).catch(() => {});
        abortUpstream();
        controller.error(error);
      }
    },
    async cancel() {
      abortUpstream();
      await settleOnce({ kind: 'client-aborted' }).catch(() => {});
    },
  });
}
