import { describe, expect, test } from 'vitest';
import { SseMeter } from './sse-meter';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const chunk = (content: string, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }], ...extra })}\n\n`;
const finishChunk = `data: ${JSON.stringify({ id: 'c1', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`;
const usage = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 2 } };
const usageChunk = `data: ${JSON.stringify({ id: 'c1', choices: [], usage })}\n\n`;
const done = 'data: [DONE]\n\n';
const STREAM = chunk('Hé', { usage: null }) + chunk(' wörld 🌍', { usage: null }) + chunk('!', { usage: null }) + finishChunk + usageChunk + done;

/** Feeds `bytes` to a meter in pieces of `size` bytes; returns what the client would receive. */
function relay(meter: SseMeter, bytes: Uint8Array, size: number): string {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(meter.push(bytes.slice(at, at + size)));
  out.push(meter.finish());
  return out.map((b) => decoder.decode(b, { stream: true })).join('') + decoder.decode();
}

describe('SseMeter', () => {
  test.each([1, 2, 3, 7, 64, 100_000])('events split across %i-byte chunks arrive whole and in order', (size) => {
    const meter = new SseMeter(true);
    expect(relay(meter, encoder.encode(STREAM), size)).toBe(STREAM);
    expect(meter.usage).toMatchObject({ promptTokens: 7, completionTokens: 3, cachedTokens: 2, estimated: false });
    expect(JSON.parse(meter.usage!.raw!)).toEqual(usage);
  });

  test.each([1, 2, 5, 100_000])('CRLF streams fed in %i-byte chunks come out as the same events with LF', (size) => {
    const meter = new SseMeter(true);
    const crlf = STREAM.replace(/\n/g, '\r\n');
    expect(relay(meter, encoder.encode(crlf), size)).toBe(STREAM);
    expect(meter.usage).toMatchObject({ promptTokens: 7, completionTokens: 3 });
    expect(meter.deliveredEvents).toBe(5);
  });

  test('a CR split from its LF across chunks keeps a multi-line event whole', () => {
    const meter = new SseMeter(true);
    const event = 'event: completion\r\ndata: {"choices":[{"delta":{"content":"x"}}]}\r\n\r\n';
    const at = event.indexOf('\n'); // first chunk ends with the CR
    const out = [meter.push(encoder.encode(event.slice(0, at))), meter.push(encoder.encode(event.slice(at))), meter.finish()];
    expect(out.map((b) => decoder.decode(b)).join('')).toBe('event: completion\ndata: {"choices":[{"delta":{"content":"x"}}]}\n\n');
  });

  test('with CRLF split between chunks, [DONE] is still held back until finish()', () => {
    const meter = new SseMeter(false);
    const crlf = (chunk('a') + done).replace(/\n/g, '\r\n');
    let early = '';
    for (const byte of encoder.encode(crlf)) early += decoder.decode(meter.push(Uint8Array.of(byte)));
    expect(early).not.toContain('[DONE]');
    expect(decoder.decode(meter.finish())).toContain('[DONE]');
  });

  test('the usage chunk is hidden from a client that did not ask for it, yet still read', () => {
    const meter = new SseMeter(false);
    const out = relay(meter, encoder.encode(STREAM), 5);
    expect(out).toBe(STREAM.replace(usageChunk, ''));
    expect(meter.usage).toMatchObject({ promptTokens: 7, completionTokens: 3 });
    expect(meter.deliveredEvents).toBe(4); // three content chunks and the finish chunk
  });

  test('the usage chunk reaches a client that asked for it', () => {
    const meter = new SseMeter(true);
    expect(relay(meter, encoder.encode(STREAM), 5)).toContain(usageChunk);
    expect(meter.deliveredEvents).toBe(5);
  });

  test('usage riding on a content chunk is recorded but never hidden (the content would be lost)', () => {
    const meter = new SseMeter(false);
    const stream = chunk('a') + chunk('b', { usage }) + done;
    expect(relay(meter, encoder.encode(stream), 4)).toBe(stream);
    expect(meter.usage).toMatchObject({ promptTokens: 7, completionTokens: 3 });
  });

  test('"usage": null chunks are not taken for usage', () => {
    const meter = new SseMeter(false);
    const stream = chunk('a', { usage: null }) + done;
    expect(relay(meter, encoder.encode(stream), 1000)).toBe(stream);
    expect(meter.usage).toBeNull();
  });

  test('the latest complete event is held back until finish()', () => {
    const meter = new SseMeter(false);
    expect(decoder.decode(meter.push(encoder.encode(chunk('a'))))).toBe('');
    expect(decoder.decode(meter.push(encoder.encode(chunk('b'))))).toBe(chunk('a'));
    expect(decoder.decode(meter.push(encoder.encode(finishChunk + usageChunk + done)))).toBe(chunk('b') + finishChunk);
    expect(decoder.decode(meter.finish())).toBe(done);
    expect(meter.finish().byteLength).toBe(0);
  });

  test('a hidden usage chunk does not release the held event', () => {
    const meter = new SseMeter(false);
    meter.push(encoder.encode(chunk('a') + finishChunk));
    expect(decoder.decode(meter.push(encoder.encode(usageChunk)))).toBe('');
    expect(decoder.decode(meter.finish())).toBe(finishChunk);
  });

  test('an unterminated trailing event is passed on at finish()', () => {
    const meter = new SseMeter(true);
    const out = [meter.push(encoder.encode(chunk('a') + 'data: {"partial"')), meter.finish()];
    expect(out.map((b) => decoder.decode(b)).join('')).toBe(chunk('a') + 'data: {"partial"');
  });

  test('comments and keep-alives pass through without counting as content', () => {
    const meter = new SseMeter(false);
    const stream = ': keep-alive\n\n' + chunk('a') + done;
    expect(relay(meter, encoder.encode(stream), 3)).toBe(stream);
    expect(meter.deliveredEvents).toBe(1);
  });
});
