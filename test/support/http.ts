import Database from 'better-sqlite3';
import { createServer } from 'node:net';

/** One `usage_events` row as SQLite stores it (snake_case columns, booleans as 0/1). */
export interface LedgerRow {
  id: string;
  key_id: string;
  customer_id: string;
  model: string;
  backend_id: string | null;
  route: string;
  status: number;
  stream: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  predictions: number;
  estimated: number;
  error_code: string | null;
  usage_raw: string | null;
  started_at: number;
  finished_at: number;
}

/** A read-only view of the gateway's ledger, straight from its SQLite file. */
export class LedgerReader {
  private readonly db: Database.Database;

  constructor(dbPath: string) {
    this.db = new Database(dbPath, { readonly: true, fileMustExist: true });
  }

  /** Rows whose id is the given request id (the ledger row id is the request id). */
  rowsFor(requestId: string): LedgerRow[] {
    return this.db.prepare('SELECT * FROM usage_events WHERE id = ?').all(requestId) as LedgerRow[];
  }

  /** Every row of one customer, oldest first. */
  rowsOfCustomer(customerId: string): LedgerRow[] {
    return this.db.prepare('SELECT * FROM usage_events WHERE customer_id = ? ORDER BY id').all(customerId) as LedgerRow[];
  }

  /** The one row for a request id; fails the test if there is not exactly one. */
  only(requestId: string): LedgerRow {
    const rows = this.rowsFor(requestId);
    if (rows.length !== 1) throw new Error(`expected exactly one ledger row for ${requestId}, found ${rows.length}`);
    return rows[0];
  }

  /** Polls until `count` rows exist for the request id (rows of aborted streams land asynchronously). */
  async waitForRows(requestId: string, count = 1, timeoutMs = 3_000): Promise<LedgerRow[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = this.rowsFor(requestId);
      if (rows.length >= count || Date.now() > deadline) return rows;
      await sleep(20);
    }
  }

  close(): void {
    this.db.close();
  }
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Headers for a keyed JSON call. */
export function keyed(secret: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...extra };
}

/** POSTs a JSON body (or a raw string) with the key as a Bearer token. */
export function postJson(
  base: string,
  path: string,
  secret: string,
  body: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: keyed(secret, init.headers),
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: init.signal,
  });
}

/** A chat request body with one user message. */
export function chatBody(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'chat', messages: [{ role: 'user', content }], ...extra };
}

/** The `data:` payloads of an SSE body, in order. */
export function sseData(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n\n')
    .map((event) => event.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('\n'))
    .filter((data) => data !== '');
}

/** Reads `count` SSE events off a streaming response, leaving the rest unread. */
export async function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<string[]> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const events = text.replace(/\r\n?/g, '\n').split('\n\n');
    if (events.length - 1 >= count) return sseData(events.slice(0, count).join('\n\n') + '\n\n');
    const { value, done } = await reader.read();
    if (done) return sseData(text);
    text += decoder.decode(value, { stream: true });
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
