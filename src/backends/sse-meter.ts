import { unitsFromOpenAIUsage } from './openai-usage';
import type { Units } from './types';

const encoder = new TextEncoder();

/**
 * Reads an OpenAI-style SSE stream as it passes through: captures the final usage chunk, hides it from
 * clients that did not ask for it, counts delivered content events, and always holds back the latest
 * complete event so the stream's last bytes can wait for the ledger commit.
 */
export class SseMeter {
  private readonly decoder = new TextDecoder();
  private pending = '';
  private held = '';
  private heldIsContent = false;
  usage: Units | null = null;
  /** Content events released to the client so far (≈ tokens for OpenAI-style streams); the held one is not. */
  deliveredEvents = 0;

  constructor(private readonly clientWantsUsage: boolean) {}

  /** Feeds upstream bytes; returns bytes that may go to the client now (possibly empty). */
  push(chunk: Uint8Array): Uint8Array {
    this.pending += this.decoder.decode(chunk, { stream: true });
    // A CR ending the chunk may be half of a CRLF split across chunks: keep it until the next one.
    if (this.pending.includes('\r')) this.pending = this.pending.replace(/\r\n|\r(?!$)/g, '\n');
    let out = '';
    let boundary: number;
    while ((boundary = this.pending.indexOf('\n\n')) !== -1) {
      const event = this.pending.slice(0, boundary + 2);
      this.pending = this.pending.slice(boundary + 2);
      const kind = this.classify(event);
      if (kind === 'drop') continue;
      out += this.held;
      if (this.heldIsContent) this.deliveredEvents++;
      this.held = event;
      this.heldIsContent = kind === 'content';
    }
    return out ? encoder.encode(out) : EMPTY;
  }

  /** The held-back tail: send it only after the ledger row is committed. */
  finish(): Uint8Array {
    const tail = this.held + this.pending + this.decoder.decode();
    if (this.heldIsContent) this.deliveredEvents++;
    this.heldIsContent = false;
    this.held = '';
    this.pending = '';
    return tail ? encoder.encode(tail) : EMPTY;
  }

  /** Whether the event goes to the client, and whether it is content; records usage on the way. */
  private classify(event: string): 'drop' | 'pass' | 'content' {
    const dataAt = event.indexOf('data:');
    if (dataAt === -1) return 'pass';
    const data = event.slice(dataAt + 5).trim();
    if (data === '[DONE]') return 'pass';
    if (data.includes('"usage":{') || data.includes('"usage": {')) {
      const parsed = safeParse(data) as { usage?: unknown; choices?: unknown[] } | null;
      const units = unitsFromOpenAIUsage(parsed?.usage);
      if (units) this.usage = units;
      if (!this.clientWantsUsage && Array.isArray(parsed?.choices) && parsed.choices.length === 0) return 'drop';
    }
    return 'content';
  }
}

const EMPTY = new Uint8Array(0);

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
