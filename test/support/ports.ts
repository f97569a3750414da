import { createServer, type Server } from 'node:net';

export { freePort } from './child-gateway';

/** A backend that cannot be reached: it takes each connection and drops it at once. */
export interface DroppingServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A URL on 127.0.0.1 whose server drops every connection. Unlike a port that was merely free a moment
 * ago, it stays reserved, so no server started later can take it over.
 */
export async function startDroppingServer(path = '/predict'): Promise<DroppingServer> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}${path}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
