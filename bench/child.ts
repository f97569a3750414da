/**
 * The child side of a benchmarked server: each server runs in its own process (one core each on a
 * two-core machine, the load generator keeps the parent's). The parent talks to it over IPC:
 * `ready` (with the URL) once listening, `cpu` on request, and `stop` to drain and exit.
 */

export interface ChildServer {
  url: string;
  stop(): Promise<void>;
}

export type ParentMessage = { type: 'cpu'; id: number } | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'cpu'; id: number; micros: number }
  | { type: 'stopped' }
  | { type: 'failed'; error: string };

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** Starts a server and serves the parent's IPC requests until told to stop. */
export async function runChild(start: () => Promise<ChildServer>): Promise<void> {
  if (!process.send) throw new Error('run this module through bench/run.ts (it expects an IPC channel)');
  process.on('disconnect', () => process.exit(1));
  let server: ChildServer;
  try {
    server = await start();
  } catch (error) {
    send({ type: 'failed', error: (error as Error).stack ?? String(error) });
    process.exit(1);
  }
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', id: message.id, micros: user + system });
    } else if (message.type === 'stop') {
      const force = setTimeout(() => process.exit(3), 20_000);
      force.unref();
      server.stop().then(
        () => {
          send({ type: 'stopped' });
          // Exit normally so --cpu-prof writes its profile.
          process.exit(0);
        },
        (error) => {
          send({ type: 'failed', error: String(error) });
          process.exit(1);
        },
      );
    }
  });
  send({ type: 'ready', url: server.url });
}
