import type { Units } from './types';

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

const whole = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);

/** Units from an OpenAI `usage` object (chat, completions, embeddings), keeping the raw object. */
export function unitsFromOpenAIUsage(usage: unknown): Units | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as OpenAIUsage;
  return {
    promptTokens: whole(u.prompt_tokens ?? u.input_tokens),
    completionTokens: whole(u.completion_tokens ?? u.output_tokens),
    cachedTokens: whole(u.prompt_tokens_details?.cached_tokens),
    reasoningTokens: whole(u.completion_tokens_details?.reasoning_tokens),
    predictions: 0,
    raw: JSON.stringify(usage),
    estimated: false,
  };
}

/** Rough token estimate for text the backend never counted (aborted streams): ~4 characters a token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
