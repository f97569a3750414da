// Deterministic tokenizer and text generation for the demo model server.
// Everything here is a pure function of its input, so responses and usage
// numbers are reproducible across runs and easy to assert on in tests.

const TOKEN_RE = /\w+|[^\s\w]/g;
/** One token plus the whitespace before it; concatenating all pieces rebuilds the text. */
const PIECE_RE = /\s*(?:\w+|[^\s\w])/g;
/** How many prompt tokens the echo reply repeats. */
const ECHO_TOKENS = 12;
/** Fixed per-message overhead for chat prompts. */
const MESSAGE_OVERHEAD = 3;

/** Why a completion ended, as in the OpenAI API. */
export type FinishReason = 'stop' | 'length';

/** A generated completion: full text, its streaming pieces and token count. */
export interface Completion {
  text: string;
  /** One entry per completion token; `pieces.join('') === text`. */
  pieces: string[];
  completionTokens: number;
  finishReason: FinishReason;
}

/** Splits text into tokens: runs of word characters and single punctuation marks. */
export function tokenize(text: string): string[] {
  return text.match(TOKEN_RE) ?? [];
}

/** Counts tokens in text (words and single punctuation marks). */
export function countTokens(text: string): number {
  return tokenize(text).length;
}

/** Extracts the text of a message content (a string, or an array of parts whose text parts are joined). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
    .filter((s) => s !== '')
    .join(' ');
}

/** Prompt tokens of a chat request: tokens of every message's content plus 3 per message. */
export function chatPromptTokens(messages: unknown[]): number {
  let total = 0;
  for (const m of messages) {
    total += countTokens(contentText(isRecord(m) ? m.content : undefined)) + MESSAGE_OVERHEAD;
  }
  return total;
}

/** Text of the last message with role "user", or '' if there is none. */
export function lastUserText(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (isRecord(m) && m.role === 'user') return contentText(m.content);
  }
  return '';
}

/** Reads the completion-token cap from a request body (max_completion_tokens, then max_tokens). */
export function maxTokensOf(body: Record<string, unknown>): number | undefined {
  for (const v of [body.max_completion_tokens, body.max_tokens]) {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  return undefined;
}

/** Deterministic reply to a prompt: "Echo: " + its first 12 tokens, cut to maxTokens tokens if given. */
export function completionFor(promptText: string, maxTokens?: number): Completion {
  const echoed = tokenize(promptText).slice(0, ECHO_TOKENS).join(' ');
  const full = `Echo: ${echoed}`.trimEnd();
  const all = full.match(PIECE_RE) ?? [];
  const truncated = maxTokens !== undefined && maxTokens < all.length;
  const pieces = truncated ? all.slice(0, maxTokens) : all;
  const text = pieces.join('');
  return {
    text,
    pieces,
    completionTokens: countTokens(text),
    finishReason: truncated ? 'length' : 'stop',
  };
}

/** FNV-1a 32-bit hash of a string. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic number in [0, 1) derived from text, rounded to 4 decimals. */
export function numberFor(text: string): number {
  return Math.round((hash32(text) / 2 ** 32) * 10_000) / 10_000;
}

/** A deterministic unit-length embedding of `dims` floats derived from text. */
export function embeddingFor(text: string, dims = 8): number[] {
  const raw = Array.from({ length: dims }, (_, i) => (hash32(`${i}:${text}`) / 2 ** 32) * 2 - 1);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

/** True for plain (non-array) objects. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
