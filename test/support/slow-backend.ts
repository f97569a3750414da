import { startModelServer, type ModelServer } from '../../src/demo/model-server';

/** A test model backend that pauses 150 ms before each streamed event (to see whether a stream is buffered). */
export async function startSlowBackend(): Promise<ModelServer> {
  const server = await startModelServer({ host: '127.0.0.1' });
  server.setFault({ kind: 'slow-stream', delayMs: 150 });
  return server;
}
