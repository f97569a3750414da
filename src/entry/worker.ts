import type { Hono } from 'hono';
import { createApp } from '../app';
import { parseConfig, type Config } from '../config';
import type { AppEnv, Deps } from '../context';
import { buildWorkerDeps } from '../platform/worker/deps';
import { stringVars, type WorkerEnv } from '../platform/worker/env';
import { runScheduledJobs } from '../platform/worker/jobs';

export { CustomerGate } from '../platform/worker/customer-gate';

interface Gateway {
  env: WorkerEnv;
  config: Config;
  deps: Deps;
  app: Hono<AppEnv>;
}

let built: Gateway | null = null;

/**
 * The gateway of this isolate, built on its first event from the bindings: config is validated then (a
 * bad setting is answered with its name on every request until fixed), and deps live as long as the isolate.
 */
function gateway(env: WorkerEnv): Gateway {
  if (built?.env === env) return built;
  const vars = stringVars(env);
  const config = parseConfig(vars);
  const deps = buildWorkerDeps(env, config, vars);
  built = { env, config, deps, app: createApp(deps) };
  return built;
}

function configProblem(error: unknown): Response {
  const detail = String((error as Error)?.message ?? error);
  console.error(JSON.stringify({ level: 'error', message: 'invalid configuration', detail }));
  return Response.json(
    { type: 'about:blank', title: 'Gateway misconfigured', status: 500, detail, code: 'invalid_configuration' },
    { status: 500, headers: { 'content-type': 'application/problem+json' } },
  );
}

/** Tollgate on Cloudflare Workers: the same app as on Node, plus the Cron Trigger jobs. */
export default {
  fetch(request, env, ctx) {
    let g: Gateway;
    try {
      g = gateway(env);
    } catch (error) {
      return configProblem(error);
    }
    return g.app.fetch(request, env, ctx);
  },
  scheduled(controller, env, ctx) {
    const g = gateway(env);
    ctx.waitUntil(runScheduledJobs(controller.cron, g.deps, env, g.config));
  },
} satisfies ExportedHandler<WorkerEnv>;
