import { NO_UNITS, type Adapter, type UpstreamTarget } from './types';
import { unitsFromOpenAIUsage } from './openai-usage';

const upstreamName = (t: UpstreamTarget) => encodeURIComponent(t.backend.upstreamModel ?? t.model.name);

const OPENAI_PATHS: Partial<Record<UpstreamTarget['route'], string>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

/** OpenAI-compatible servers (OpenAI, vLLM, TGI, llama.cpp…): base URL ends in `/v1`. */
const openai: Adapter = {
  path: (t) => OPENAI_PATHS[t.route] ?? null,
  unitsFromJson: (body) => unitsFromOpenAIUsage((body as { usage?: unknown } | null)?.usage) ?? { ...NO_UNITS, estimated: true },
};

/** KServe v2 / Open Inference Protocol: `POST {base}/v2/models/{name}/infer`. */
const kserveV2: Adapter = {
  path: (t) => (t.route === 'infer' || t.route === 'predict' ? `/v2/models/${upstreamName(t)}/infer` : null),
};

/** TensorFlow Serving REST: `POST {base}/v1/models/{name}:predict`. */
const tfserving: Adapter = {
  path: (t) => (t.route === 'predict' || t.route === 'infer' ? `/v1/models/${upstreamName(t)}:predict` : null),
};

/** Plain JSON: the body is posted to the base URL as it is. */
const json: Adapter = {
  path: (t) => (t.route === 'predict' ? '' : null),
};

/** Adapters by backend protocol name. */
export const ADAPTERS: Record<string, Adapter> = { openai, 'kserve-v2': kserveV2, tfserving, json };
