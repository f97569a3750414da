import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createApp } from '../app';
import type { Deps } from '../context';
import type { Db } from '../db/types';
import { parseConfig, type Config } from '../config';
import { startModelServer, type ModelServer } from '../demo/model-server';
import { buildNodeDeps } from '../platform/node/deps';
import { buildBillingRuntime } from '../services/billing/billing-runtime';
import { startBillingSyncJob, type BillingSyncJob } from '../platform/node/billing-job';
import { startNodeAlerts } from '../platform/node/webhook-worker';
import { migrateSqlite, openSqlite } from '../platform/node/sqlite';
import { seedDemo, type DemoSeed } from '../services/demo-seed.service';
import { handleClientError } from '../platform/node/client-error';

/** A running Tollgate on Node. */
export interface RunningGateway {
  url: string;
  deps: Deps;
  port: number;
  demo: ModelServer | null;
  seeded: DemoSeed | null;
  /** The periodic Stripe sync (null without STRIPE_SECRET_KEY). */
  billingJob: BillingSyncJob | null;
  stop(): Promise<void>;
}

/** Starts Tollgate: open and migrate SQLite, build deps, optionally start the demo backend, serve. */
export async function startGateway(config: Config, env: Record<string, string | undefined> = process.env): Promise<RunningGateway> {
  const store = openSqlite(config.TOLLGATE_DB, config.TOLLGATE_DURABILITY);
  migrateSqlite(store);
  // Alerts log through deps.log, which exists by the time the first alert is written.
  const alerts = startNodeAlerts(store.db as unknown as Db, config, (...args) => deps.log(...args));
  const deps = buildNodeDeps(store, config, env, alerts.sink);
  deps.billing = buildBillingRuntime(config, deps);
  // The Stripe sync runs in-process only when Stripe is configured; it drains before the store closes.
  const billingJob = config.STRIPE_SECRET_KEY ? startBillingSyncJob(deps.billing.deps, config.TOLLGATE_BILLING_SYNC_INTERVAL) : null;
  const demo = config.TOLLGATE_DEMO ? await startModelServer({ port: config.TOLLGATE_DEMO_PORT, host: '127.0.0.1' }) : null;
  const seeded = demo ? await seedDemo(deps, demo.url) : null;
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve) => {
    const s = serve(
      { fetch: app.fetch, port: config.PORT, hostname: config.HOST, serverOptions: { maxHeaderSize: config.TOLLGATE_MAX_HEADER_BYTES } },
      () => resolve(s as Server),
    ) as Server;
  });
  server.keepAliveTimeout = 65_000;
  server.on('clientError', handleClientError);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      // Stop taking connections, let in-flight calls finish (their ledger rows commit), then close the store.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await deps.ledger.flush();
      await billingJob?.stop();
      await alerts.stop();
      await deps.upstream.close();
      await demo?.close();
      store.close();
    })());
  return { url: `http://${host}:${port}`, deps, port, demo, seeded, billingJob, stop };
}

/** `npm start` and `tollgate serve`: start from `env`, print where it listens, drain on SIGTERM/SIGINT. */
export async function runServer(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(env);
  } catch (error) {
    console.error(String((error as Error).message));
    process.exit(2);
  }
  const gateway = await startGateway(config, env);
  console.log(`Tollgate listening on ${gateway.url} (database ${config.TOLLGATE_DB}, durability ${config.TOLLGATE_DURABILITY})`);
  if (gateway.demo) console.log(`Demo model backend on ${gateway.demo.url}`);
  if (gateway.seeded) printDemo(gateway.url, gateway.seeded);
  const shutdown = (signal: string) => {
    console.log(`${signal}: draining…`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    gateway.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

function printDemo(url: string, seed: DemoSeed): void {
  console.log(`
First start: created a demo customer and key. The key is shown ONCE — copy it now:

  ${seed.secret}

Try it:
  curl ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${seed.secret}" -H "content-type: application/json" \\
    -d '{"model":"demo-chat","messages":[{"role":"user","content":"Hello, Tollgate!"}]}'

Or with the openai SDK:
  import OpenAI from 'openai';
  const client = new OpenAI({ baseURL: '${url}/v1', apiKey: '${seed.secret}' });
  const reply = await client.chat.completions.create({ model: 'demo-chat', messages: [{ role: 'user', content: 'Hello!' }] });

Models: ${seed.models.join(', ')}. Usage: curl ${url}/v1/usage -H "Authorization: Bearer <key>"
`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runServer();
