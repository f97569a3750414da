import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage } from './child';

/** A server under test running in its own process. */
export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  /** CPU time (user + system) the process has used so far, in microseconds. */
  cpuMicros(): Promise<number>;
  /** Drains and stops the server; resolves once the process has exited. */
  stop(): Promise<void>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Forks `bench/<file>` under tsx and waits until it reports its URL. */
export async function spawnServer(
  name: string,
  file: string,
  options: { env?: Record<string, string>; execArgv?: string[]; args?: string[] } = {},
): Promise<ServerProcess> {
  const child: ChildProcess = fork(HERE + file, options.args ?? [], {
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no ready message within 60 s`)), 60_000);
    const onMessage = (m: ChildMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m.url);
      } else if (m.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`${name} failed to start:\n${m.error}`));
      }
    };
    child.on('message', onMessage);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}) before it was ready`));
    });
  });

  let nextId = 1;
  const post = (m: ParentMessage) => child.send(m);
  return {
    name,
    url,
    pid: child.pid!,
    cpuMicros: () =>
      new Promise<number>((resolve) => {
        const id = nextId++;
        const onMessage = (m: ChildMessage) => {
          if (m.type === 'cpu' && m.id === id) {
            child.off('message', onMessage);
            resolve(m.micros);
          }
        };
        child.on('message', onMessage);
        post({ type: 'cpu', id });
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      post({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`${name} exited with code ${code} while stopping`);
    },
  };
}
