// The ledger promise under a crash: a usage row is committed before a response's last byte leaves, so
// after SIGKILL mid-load every response a client received in full has exactly one ledger row.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import type { Db } from '../src/db/types';
import { startModelServer, type ModelServer } from '../src/demo/model-server';
import { chatPromptTokens, completionFor } from '../src/demo/tokens';
import { migrateSqlite, openSqlite } from '../src/platform/node/sqlite';
import type { AdminDeps } from '../src/services/admin';
import { createChangeWatch } from '../src/services/change-watch';
import { createCustomer } from '../src/services/customers.service';
import { createKey } from '../src/services/keys.service';
import { addModel } from '../src/services/models.service';
import { startChildGateway, type ChildGateway } from './support/child-gateway';

const LOOPS = 32;
const LOAD_MS = 1_500;
const MIN_COMPLETED_BEFORE_KILL = 300;
const MAX_LOAD_MS = 10_000;

type Kind = 'json' | 'stream-usage' | 'stream';

/** One request the client sent, and what came back. */
interface Attempt {
  kind: Kind;
  requestId: string | null;
  status: number | null;
  /** The whole body arrived: JSON parsed, or a stream that ended cleanly after `data: [DONE]`. */
  complete: boolean;
  expectedPrompt: number;
  expectedCompletion: number;
  /** Usage the client saw (JSON body or the include_usage chunk), if any. */
  clientUsage: { prompt: number; completion: number } | null;
  /** A stream whose client did not ask for usage still saw a usage chunk. */
  leakedUsageChunk: boolean;
}

interface LedgerRow {
  id: string;
  status: number;
  stream: number;
  prompt_tokens: number;
  completion_tokens: number;
  estimated: number;
  error_code: string | null;
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** Seeds a customer, a key and model `chat` (openai, at the backend) straight into the db file. */
async function seed(dbPath: string, backend: ModelServer): Promise<string> {
  const store = openSqlite(dbPath);
  try {
    migrateSqlite(store);
    const admin: AdminDeps = { db: store.db as unknown as Db, now: () => Date.now(), changes: createChangeWatch() };
    await addModel(admin, { name: 'chat', backends: [{ protocol: 'openai', url: `${backend.url}/v1`, timeoutMs: 5_000 }] });
    const customer = await createCustomer(admin, { name: 'crash-test' });
    const { secret } = await createKey(admin, customer.id);
    return secret;
  } finally {
    store.close();
  }
}

function readLedger(dbPath: string): LedgerRow[] {
  const store = openSqlite(dbPath);
  try {
    return store.sqlite
      .prepare('SELECT id, status, stream, prompt_tokens, completion_tokens, estimated, error_code FROM usage_events')
      .all() as LedgerRow[];
  } finally {
    store.close();
  }
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november'];

/** A chat body whose usage differs from request to request, so rows can be checked token for token. */
function chatBody(seq: number, kind: Kind) {
  const words = Array.from({ length: 1 + (seq % 17) }, (_, i) => WORDS[(seq + i * 3) % WORDS.length]);
  const messages = [
    ...(seq % 3 === 0 ? [{ role: 'system', content: 'Answer briefly, please.' }] : []),
    { role: 'user', content: `${words.join(' ')}, #${seq}!` },
  ];
  const maxTokens = seq % 5 === 0 ? 2 + (seq % 7) : undefined;
  const body: Record<string, unknown> = { model: 'chat', messages, ...(maxTokens ? { max_tokens: maxTokens } : {}) };
  if (kind !== 'json') body.stream = true;
  if (kind === 'stream-usage') body.stream_options = { include_usage: true };
  return {
    body,
    expectedPrompt: chatPromptTokens(messages),
    expectedCompletion: completionFor(messages[messages.length - 1].content, maxTokens).completionTokens,
  };
}

function usageOf(value: unknown): { prompt: number; completion: number } | null {
  const usage = (value as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null)?.usage;
  if (!usage || typeof usage.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number') return null;
  return { prompt: usage.prompt_tokens, completion: usage.completion_tokens };
}

/** Sends one chat completion and reads it to the end (or until the connection breaks). */
async function callOnce(url: string, secret: string, dispatcher: Agent, seq: number, kind: Kind, delayMs = 0): Promise<Attempt> {
  const { body, expectedPrompt, expectedCompletion } = chatBody(seq, kind);
  const attempt: Attempt = {
    kind, requestId: null, status: null, complete: false, expectedPrompt, expectedCompletion, clientUsage: null, leakedUsageChunk: false,
  };
  try {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher,
      headers: {
        authorization: `Bearer ${secret}`,
        'content-type': 'application/json',
        ...(delayMs > 0 ? { 'x-test-delay-ms': String(delayMs) } : {}),
      },
      body: JSON.stringify(body),
    });
    attempt.status = res.statusCode;
    const rid = res.headers['x-request-id'];
    attempt.requestId = typeof rid === 'string' ? rid : null;
    if (kind === 'json') {
      const parsed = (await res.body.json()) as unknown;
      attempt.clientUsage = usageOf(parsed);
      attempt.complete = res.statusCode === 200 && attempt.clientUsage !== null;
      return attempt;
    }
    let text = '';
    for await (const chunk of res.body) text += (chunk as Buffer).toString('utf8');
    // The body ended cleanly (the iterator did not throw); now check the stream itself finished.
    const events = text.split('\n\n').map((e) => e.trim()).filter(Boolean);
    if (res.statusCode !== 200 || events[events.length - 1] !== 'data: [DONE]') return attempt;
    for (const event of events.slice(0, -1)) {
      const usage = usageOf(JSON.parse(event.slice('data:'.length)));
      if (usage) attempt.clientUsage = usage;
    }
    if (kind === 'stream' && attempt.clientUsage) attempt.leakedUsageChunk = true;
    attempt.complete = kind === 'stream' || attempt.clientUsage !== null;
    return attempt;
  } catch {
    return attempt; // connection refused/reset or the body broke off: not complete
  }
}

interface Summary {
  sent: number;
  completed: number;
  rows: number;
  incomplete: number;
  incompleteWithRow: number;
  noResponse: number;
  noResponseWithRow: number;
  midStream: number;
  killedAtMs: number;
}

async function crashScenario(durability: 'normal' | 'full'): Promise<Summary> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-crash-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = join(dir, 'tollgate.db');
  const backend = await startModelServer();
  cleanup.push(() => backend.close());
  // Streams take ~16 frames × 5 ms, so there are always streams mid-flight when the kill lands.
  backend.setFault({ kind: 'slow-stream', delayMs: 5 });
  const secret = await seed(dbPath, backend);
  const env = { TOLLGATE_DB: dbPath, TOLLGATE_DURABILITY: durability };

  const first = await startChildGateway({ env });
  cleanup.push(() => void first.kill('SIGKILL'));
  const dispatcher = new Agent({ connections: LOOPS * 2, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
  cleanup.push(() => dispatcher.destroy());

  const attempts: Attempt[] = [];
  let seq = 0;
  let completed = 0;
  let stop = false;
  const kinds: Kind[] = ['json', 'stream-usage', 'json', 'stream'];
  const loop = async () => {
    while (!stop) {
      const n = seq++;
      // Every seventh request waits at the backend first, so some calls are still upstream at the kill.
      const attempt = await callOnce(first.url, secret, dispatcher, n, kinds[n % kinds.length], n % 7 === 0 ? 15 : 0);
      attempts.push(attempt);
      if (attempt.complete) completed++;
    }
  };
  const started = Date.now();
  const loops = Array.from({ length: LOOPS }, loop);
  while (Date.now() - started < LOAD_MS || completed < MIN_COMPLETED_BEFORE_KILL) {
    if (Date.now() - started > MAX_LOAD_MS) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const killedAtMs = Date.now() - started;
  first.kill('SIGKILL');
  stop = true;
  const exit = await first.exited;
  await Promise.all(loops);
  expect(exit.signal).toBe('SIGKILL');

  // Restart on the same file: it must open (WAL recovery) and serve.
  const second = await startChildGateway({ env });
  cleanup.push(() => second.stop().then(() => undefined));

  const rows = readLedger(dbPath);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const done = attempts.filter((a) => a.complete);
  const incomplete = attempts.filter((a) => !a.complete && a.requestId !== null);
  const noResponse = attempts.filter((a) => a.requestId === null);
  const midStream = incomplete.filter((a) => a.kind !== 'json' && a.status === 200).length;

  // Not vacuous: real load, and the kill really cut calls off.
  expect(done.length).toBeGreaterThan(100);
  expect(attempts.length - done.length).toBeGreaterThan(0);
  expect(midStream).toBeGreaterThan(0);

  // Request ids are unique on the client side too.
  const ids = attempts.flatMap((a) => (a.requestId ? [a.requestId] : []));
  expect(new Set(ids).size).toBe(ids.length);

  // Zero lost: every response received in full has its row, with the tokens the backend really used.
  const problems: string[] = [];
  for (const a of done) {
    const row = a.requestId ? byId.get(a.requestId) : undefined;
    if (!row) {
      problems.push(`${a.kind} ${a.requestId}: completed but no ledger row`);
      continue;
    }
    const expected = { status: 200, stream: a.kind === 'json' ? 0 : 1, prompt_tokens: a.expectedPrompt, completion_tokens: a.expectedCompletion, estimated: 0, error_code: null };
    const actual = { status: row.status, stream: row.stream, prompt_tokens: row.prompt_tokens, completion_tokens: row.completion_tokens, estimated: row.estimated, error_code: row.error_code };
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${a.kind} ${a.requestId}: row ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
    if (a.clientUsage && (a.clientUsage.prompt !== a.expectedPrompt || a.clientUsage.completion !== a.expectedCompletion)) {
      problems.push(`${a.kind} ${a.requestId}: client saw usage ${JSON.stringify(a.clientUsage)}`);
    }
    if (a.leakedUsageChunk) problems.push(`${a.kind} ${a.requestId}: usage chunk reached a client that did not ask for it`);
  }
  expect(problems.slice(0, 20)).toEqual([]);
  for (const a of done) expect(a.expectedPrompt > 0 && a.expectedCompletion > 0).toBe(true);

  // Zero duplicated: one row per id (also structural), and never more rows than calls that could have made one.
  const dup = rows.length - byId.size;
  expect(dup).toBe(0);
  expect(rows.length).toBeLessThanOrEqual(attempts.length);
  const known = new Set(ids);
  const unknownRows = rows.filter((r) => !known.has(r.id)).length;
  expect(unknownRows).toBeLessThanOrEqual(noResponse.length);

  // The restarted gateway serves and records as before.
  const after = await callOnce(second.url, secret, dispatcher, 1_000_003, 'json');
  expect(after.complete).toBe(true);
  const afterRow = readLedger(dbPath).find((r) => r.id === after.requestId);
  expect(afterRow).toMatchObject({ status: 200, prompt_tokens: after.expectedPrompt, completion_tokens: after.expectedCompletion, estimated: 0 });

  const summary: Summary = {
    sent: attempts.length,
    completed: done.length,
    rows: rows.length,
    incomplete: incomplete.length,
    incompleteWithRow: incomplete.filter((a) => byId.has(a.requestId!)).length,
    noResponse: noResponse.length,
    noResponseWithRow: unknownRows,
    midStream,
    killedAtMs,
  };
  console.log(`crash durability (${durability}): ${JSON.stringify(summary)}`);
  return summary;
}

describe('a SIGKILL mid-load loses and doubles no ledger row', () => {
  test('TOLLGATE_DURABILITY=normal', async () => {
    await crashScenario('normal');
  }, 30_000);

  test('TOLLGATE_DURABILITY=full', async () => {
    await crashScenario('full');
  }, 30_000);
});
