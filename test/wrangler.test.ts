import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startModelServer, type ModelServer } from '../src/demo/model-server';
import { ADMIN_SECRET } from './shared/admin-token';
import { behaviourSuite } from './shared/behaviour';
import type { Target } from './shared/target';
import { freePort, startDroppingServer, type DroppingServer } from './support/ports';
import { startSlowBackend } from './support/slow-backend';

/**
 * wrangler without telemetry, prompts or any lookup beyond 127.0.0.1: no banner (its update check asks the
 * npm registry), and should any other update check run, it is pointed at a closed local port.
 */
const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  npm_config_registry: 'http://127.0.0.1:9/',
  CI: 'true',
  NO_COLOR: '1',
};
const WRANGLER = join(process.cwd(), 'node_modules', '.bin', 'wrangler');

function wrangler(args: string[], timeoutMs = 120_000) {
  const run = spawnSync(WRANGLER, args, { env: WRANGLER_ENV, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: timeoutMs });
  return { status: run.status, out: `${run.stdout}\n${run.stderr}` };
}

describe('wrangler', () => {
  test('the Worker bundles for deploy (dry run), with the D1 and Durable Object bindings', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'tollgate-bundle-'));
    try {
      const run = wrangler(['deploy', '--dry-run', '--outdir', outdir]);
      expect(run.out).toContain('--dry-run: exiting now.');
      expect(run.status).toBe(0);
      expect(run.out).toMatch(/env\.CUSTOMERS \(CustomerGate\)\s+Durable Object/);
      expect(run.out).toMatch(/env\.DB \(tollgate\)\s+D1 Database/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('worker-configuration.d.ts matches wrangler.toml', () => {
    const run = wrangler(['types', '--check']);
    expect(run.out).not.toContain('out of date');
    expect(run.status).toBe(0);
  });
});

/**
 * A smoke pass of the shared behaviour suite against a real `wrangler dev` (local workerd, local D1 and
 * Durable Objects, migrations applied by `wrangler d1 migrations apply --local`) in front of the test
 * model backend on 127.0.0.1.
 */
describe('wrangler dev (smoke)', () => {
  let dir: string;
  let dev: ChildProcess | null = null;
  let backend: ModelServer;
  let slow: ModelServer;
  let dropping: DroppingServer;
  let target: Target;
  let output = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-wrangler-'));
    backend = await startModelServer({ host: '127.0.0.1' });
    slow = await startSlowBackend();
    dropping = await startDroppingServer();
    const migrated = wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', dir]);
    expect(migrated.status, migrated.out).toBe(0);
    const port = await freePort();
    dev = spawn(
      WRANGLER,
      [
        'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', dir, '--show-interactive-dev-session=false',
        '--var', `TOLLGATE_ADMIN_JWT_SECRET:${ADMIN_SECRET}`, '--var', 'TOLLGATE_LOG:silent', '--var', 'BACKEND_TOKEN:backend-secret',
      ],
      { env: WRANGLER_ENV, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    dev.stdout!.on('data', (b) => (output += String(b)));
    dev.stderr!.on('data', (b) => (output += String(b)));
    const url = `http://127.0.0.1:${port}`;
    const started = Date.now();
    for (;;) {
      if (dev.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
      try {
        if ((await fetch(`${url}/healthz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() - started > 90_000) throw new Error(`wrangler dev did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    target = {
      runtime: 'wrangler-dev',
      fetch: (path, init) => fetch(`${url}${path}`, init),
      backendUrl: backend.url,
      slowBackendUrl: slow.url,
      deadUrl: dropping.url,
      reset: async () => {},
    };
  }, 120_000);

  afterAll(async () => {
    if (dev && dev.exitCode === null) {
      const exited = new Promise((resolve) => dev!.once('exit', resolve));
      dev.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (dev.exitCode === null) dev.kill('SIGKILL');
    }
    await backend?.close();
    await slow?.close();
    await dropping?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  behaviourSuite(() => target, { smoke: true });
});
