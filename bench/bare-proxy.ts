import { createServer, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { runChild } from './child';

/**
 * The baseline: node:http in front of an undici keep-alive Pool, streaming the body both ways
 * (`pool.stream` writes the upstream body straight into the response). No auth, no ledger, no JSON
 * parsing — the least a proxy hop costs on this machine. (stream/promises `pipeline` would cost about
 * 75 µs more per call here — it would flatter every ratio against this baseline.)
 */
const upstream = process.env.BENCH_UPSTREAM;
if (!upstream) throw new Error('BENCH_UPSTREAM is not set');
const PATH = '/v1/chat/completions';

await runChild(async () => {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== PATH) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = { 'content-type': req.headers['content-type'] ?? 'application/json' };
    if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
    try {
      await pool.stream({ path: PATH, method: 'POST', headers, body: req }, ({ statusCode, headers: upHeaders }) => {
        const out: OutgoingHttpHeaders = {};
        for (const name of ['content-type', 'content-length']) {
          const value = upHeaders[name];
          if (value !== undefined) out[name] = value;
        }
        res.writeHead(statusCode, out);
        return res;
      });
    } catch {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await pool.close();
    },
  };
});
