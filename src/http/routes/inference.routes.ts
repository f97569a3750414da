import { Hono, type Context } from 'hono';
import { ADAPTERS } from '../../backends/adapters';
import { countInstances } from '../../backends/prediction-units';
import { proxy } from '../../backends/proxy';
import type { RouteName } from '../../backends/types';
import type { AppEnv } from '../../context';
import { ServiceError } from '../../domain/errors';
import { limitedBody, parseJsonObject, readBody } from '../body';
import { clientWatch, reserveLimits, startCall } from './call';

function inferenceHandler(route: RouteName) {
  return async (c: Context<AppEnv>) => {
    const deps = c.get('deps');
    const caller = c.get('caller');
    const requestId = c.get('requestId');
    const name = c.req.param('model') ?? '';
    const call = startCall(c, route, name);
    const entry = await deps.models.resolve(name, caller.allowedModels);
    const backend = deps.models.pickBackend(entry);
    call.backendId = backend.id;
    const target = { model: entry.model, backend, route };
    const adapter = ADAPTERS[backend.protocol];
    const path = adapter.path(target);
    if (path === null) throw new ServiceError('invalid_request', `The model '${name}' does not serve ${route} calls.`, 'model');

    // Counting instances needs the body; otherwise it streams straight through.
    let body: Uint8Array | AsyncIterable<Uint8Array>;
    let instances = 1;
    if (entry.model.units === 'instances') {
      const raw = await readBody(c.req.raw, deps.limits.maxBodyBytes);
      instances = countInstances(parseJsonObject(raw));
      body = raw;
    } else {
      body = limitedBody(c.req.raw, deps.limits.maxBodyBytes);
    }
    await reserveLimits(c, call, { model: entry.model.name, promptTokens: 0, maxTokens: 0, predictions: instances, choices: 1, callId: call.id });
    const watch = clientWatch(c);
    return proxy(deps, {
      call,
      requestId,
      target,
      adapter,
      path,
      body,
      clientHeaders: c.req.raw.headers,
      clientGone: watch.clientGone,
      clientSignal: watch.clientSignal,
      metering: { kind: 'predict', units: entry.model.units, instances, unitHeader: entry.model.unitHeader },
    });
  };
}

/** `POST /v1/models/{model}/predict` (any JSON predict backend). */
export const predictRoutes = new Hono<AppEnv>().post('/:model/predict', inferenceHandler('predict'));

/** `POST /v2/models/{model}/infer` (KServe v2 / Open Inference Protocol). */
export const inferRoutes = new Hono<AppEnv>().post('/:model/infer', inferenceHandler('infer'));
