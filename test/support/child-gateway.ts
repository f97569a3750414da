import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = resolve(ROOT, 'src/entry/node.ts');

/** How a child process ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The real server (`src/entry/node.ts`) running as a child process. */
export interface ChildGateway {
  url: string;
  port: number;
  pid: number;
  /** Settles when the process has exited (never rejects). */
  exited: Promise<ChildExit>;
  /** Sends a signal (SIGTERM by default); a no-op once the process has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** Graceful stop: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<ChildExit>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts `node --import tsx src/entry/node.ts` (cwd = repo root) on a free port of 127.0.0.1 with the given
 * environment on top of the parent's, and resolves once `/healthz` answers 200. Defaults: demo off, logs
 * silent. Rejects (after killing the child) if it exits or does not become healthy in `readyTimeoutMs`.
 */
export async function startChildGateway(options: { env?: Record<string, string>; readyTimeoutMs?: number } = {}): Promise<ChildGateway> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: ROOT,
    env: { ...process.env, TOLLGATE_DEMO: 'off', TOLLGATE_LOG: 'silent', ...options.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => void (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => void (output += text));
  let done: ChildExit | null = null;
  const exited = new Promise<ChildExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      done = { code, signal };
      resolveExit(done);
    });
    child.once('error', (error) => {
      output += `\nspawn error: ${String(error)}`;
      done ??= { code: null, signal: null };
      resolveExit(done);
    });
  });
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (done === null && child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const url = `http://127.0.0.1:${port}`;
  const gateway: ChildGateway = {
    url,
    port,
    pid: child.pid ?? -1,
    exited,
    kill,
    async stop(graceMs = 5_000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
    output: () => output,
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (done !== null) {
      throw new Error(`the gateway exited before it was healthy (${JSON.stringify(done)}):\n${output}`);
    }
    if (await healthy(url)) return gateway;
    if (Date.now() > deadline) {
      kill('SIGKILL');
      await exited;
      throw new Error(`the gateway did not answer /healthz within ${options.readyTimeoutMs ?? 20_000} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
