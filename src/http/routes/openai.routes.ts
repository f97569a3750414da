import { Hono } from 'hono';
import { ADAPTERS } from '../../backends/adapters';
import { estimateTokens } from '../../backends/openai-usage';
import { proxy } from '../../backends/proxy';
import type { RouteName } from '../../backends/types';
import type { AppEnv } from '../../context';
import { ServiceError } from '../../domain/errors';
import { parseJsonObject, readBody } from '../body';
import { clientWatch, reserveLimits, startCall } from './call';

const encoder = new TextEncoder();

/** The text a prompt estimate is made from (limits reservation; aborted streams). Over-counts a little: safe. */
function promptText(body: Record<string, unknown>): string {
  return JSON.stringify(body.messages ?? body.prompt ?? body.input ?? '');
}

/** The completion cap the client asked for, if any. */
function maxTokensOf(body: Record<string, unknown>): number | null {
  const cap = body.max_completion_tokens ?? body.max_tokens;
  return typeof cap === 'number' && Number.isInteger(cap) && cap >= 0 ? cap : null;
}

function openaiHandler(route: RouteName) {
  return async (c: import('hono').Context<AppEnv>) => {
    const deps = c.get('deps');
    const caller = c.get('caller');
    const requestId = c.get('requestId');
    const call = startCall(c, route, '');
    const raw = await readBody(c.req.raw, deps.limits.maxBodyBytes);
    const body = parseJsonObject(raw);
    if (typeof body.model !== 'string' || body.model === '') {
      throw new ServiceError('invalid_request', 'The request must name a model.', 'model');
    }
    call.model = body.model;
    const entry = await deps.models.resolve(body.model, caller.allowedModels);
    const backend = deps.models.pickBackend(entry);
    call.backendId = backend.id;
    const target = { model: entry.model, backend, route };
    const adapter = ADAPTERS[backend.protocol];
    const path = adapter.path(target);
    if (path === null) throw new ServiceError('invalid_request', `The model '${body.model}' does not serve ${c.req.path}.`, 'model');

    let changed = false;
    let clientWantsUsage = false;
    if (body.stream === true && route !== 'embeddings') {
      call.stream = true;
      const options = (body.stream_options ?? {}) as Record<string, unknown>;
      clientWantsUsage = options.include_usage === true;
      if (!clientWantsUsage) {
        body.stream_options = { ...options, include_usage: true };
        changed = true;
      }
    }
    if (backend.upstreamModel) {
      body.model = backend.upstreamModel;
      changed = true;
    }
    const promptTokens = estimateTokens(promptText(body));
    const maxTokens = route === 'embeddings' ? 0 : maxTokensOf(body);
    const choices = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 1 ? body.n : 1;
    await reserveLimits(c, call, { model: entry.model.name, promptTokens, maxTokens, predictions: 0, choices, callId: call.id });
    // A call that names no cap is held to the one it reserved, when the plan limits or prices tokens.
    if (maxTokens === null && call.tokenCap !== null) {
      body.max_tokens = call.tokenCap;
      changed = true;
    }
    const watch = clientWatch(c);
    return proxy(deps, {
      call,
      requestId,
      target,
      adapter,
      path,
      body: changed ? encoder.encode(JSON.stringify(body)) : raw,
      clientHeaders: c.req.raw.headers,
      clientGone: watch.clientGone,
      clientSignal: watch.clientSignal,
      metering: { kind: 'openai', clientWantsUsage, estimatePromptTokens: () => promptTokens },
    });
  };
}

/** OpenAI-compatible routes: chat completions, completions and embeddings, streaming or not. */
export const openaiRoutes = new Hono<AppEnv>()
  .post('/chat/completions', openaiHandler('chat'))
  .post('/completions', openaiHandler('completions'))
  .post('/embeddings', openaiHandler('embeddings'));
