import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, test } from 'vitest';
import { startTestGateway } from './support/gateway';

const BIN = resolve(import.meta.dirname, '../bin/tollgate.js');
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh SQLite path in its own temp folder. */
function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-'));
  dirs.push(dir);
  return join(dir, 'tollgate.db');
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `tollgate` binary in a child process against `db`. */
function cli(db: string, ...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, TOLLGATE_DB: db }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** Runs a verb with --json, expects success, and parses what it printed. */
async function cliJson<T = any>(db: string, ...args: string[]): Promise<T> {
  const run = await cli(db, ...args, '--json');
  if (run.code !== 0) throw new Error(`tollgate ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

// Each spawn pays for tsx start-up (about half a second), so independent tests run side by side.
describe.concurrent('tollgate CLI', { timeout: 60_000 }, () => {
  test('creates a plan, a customer on it and a key; the secret is printed once and never listed', async ({ expect }) => {
    const db = freshDb();
    const migrated = await cli(db, 'migrate');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain(db);
    const plan = await cliJson(db, 'plans', 'create', '--name', 'pro', '--limits', '{"rates":[{"requests":60,"per":"1m"}]}');
    expect(plan).toMatchObject({ name: 'pro', limits: { rates: [{ requests: 60, per: '1m' }] } });
    const customer = await cliJson(db, 'customers', 'create', '--name', 'acme', '--email', 'ops@acme.test', '--plan', 'pro');
    expect(customer).toMatchObject({ name: 'acme', email: 'ops@acme.test', planId: plan.id, status: 'active' });
    const created = await cliJson(db, 'keys', 'create', '--customer', 'acme', '--name', 'ci', '--models', 'chat,embed', '--expires', '30d');
    expect(created.secret).toMatch(/^tg_(live|test)_/);
    expect(created.key).toMatchObject({ customerId: customer.id, name: 'ci', state: 'active', allowedModels: ['chat', 'embed'] });
    expect(created.key.expiresAt - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(created.key.hash).toBeUndefined();

    const [testKey, list, show, customerShow] = await Promise.all([
      cli(db, 'keys', 'create', '--customer', customer.id, '--test'),
      cli(db, 'keys', 'list'),
      cli(db, 'keys', 'show', created.key.displayPrefix),
      cli(db, 'customers', 'show', 'acme', '--json'),
    ]);
    expect(testKey.code).toBe(0);
    expect(testKey.stdout).toMatch(/store it now, it will not be shown again/);
    expect(testKey.stdout).toMatch(/^ {2}tg_test_[0-9A-Za-z]{38}$/m);
    for (const run of [list, show, customerShow]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(created.key.id);
      expect(run.stdout).not.toMatch(/tg_(live|test)_[0-9A-Za-z]{38}/);
    }
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+PREFIX\s+CUSTOMER/);
    expect(show.stdout).toMatch(/^state:\s+active$/m);
    const shown = JSON.parse(customerShow.stdout);
    expect(shown.customer.id).toBe(customer.id);
    expect(shown.keys).toContainEqual(expect.objectContaining({ id: created.key.id, state: 'active' }));
  });

  test('models add (flags and repeated --backend), list and remove', async ({ expect }) => {
    const db = freshDb();
    const [one, twoText] = await Promise.all([
      cliJson(db, 'models', 'add', 'chat', '--protocol', 'openai', '--url', 'http://127.0.0.1:9/v1', '--upstream-model', 'gpt-x', '--credential-env', 'UPSTREAM_TOKEN', '--timeout-ms', '5000'),
      cli(
        db, 'models', 'add', 'infer', '--units', 'instances',
        '--backend', '{"protocol":"kserve-v2","url":"http://127.0.0.1:9","weight":3}',
        '--backend', '{"protocol":"kserve-v2","url":"http://127.0.0.1:10","priority":1}',
      ),
    ]);
    expect(one.model).toMatchObject({ name: 'chat', units: 'tokens' });
    expect(one.backends).toEqual([expect.objectContaining({ protocol: 'openai', upstreamModel: 'gpt-x', credentialEnv: 'UPSTREAM_TOKEN', timeoutMs: 5000 })]);
    expect(twoText.code).toBe(0);
    expect(twoText.stdout).toMatch(/^infer\s+instances\s+kserve-v2\s+http:\/\/127\.0\.0\.1:10\s/m);
    const listed = await cliJson(db, 'models', 'list');
    expect(listed.map((m: any) => m.model.name)).toEqual(['chat', 'infer']);
    expect(listed[1].backends.map((b: any) => [b.weight, b.priority])).toEqual([[3, 0], [1, 1]]);
    const [removed, duplicate] = await Promise.all([
      cliJson(db, 'models', 'remove', 'infer'),
      cli(db, 'models', 'add', 'chat', '--protocol', 'openai', '--url', 'http://127.0.0.1:9/v1', '--json'),
    ]);
    expect(removed).toEqual({ removed: 'infer' });
    expect(duplicate.code).toBe(1);
    expect(JSON.parse(duplicate.stderr)).toEqual({ error: { code: 'conflict', message: "A model named 'chat' already exists.", param: 'name' } });
    const [after, again] = await Promise.all([cliJson(db, 'models', 'list'), cli(db, 'models', 'remove', 'infer')]);
    expect(after.map((m: any) => m.model.name)).toEqual(['chat']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("error: No model 'infer'.\n");
  });

  test('revoke makes a key revoked; roll issues a successor and gives the old key an expiry', async ({ expect }) => {
    const db = freshDb();
    await cliJson(db, 'customers', 'create', '--name', 'roller');
    const [a, b] = await Promise.all([
      cliJson(db, 'keys', 'create', '--customer', 'roller', '--name', 'a'),
      cliJson(db, 'keys', 'create', '--customer', 'roller', '--name', 'b', '--models', 'chat'),
    ]);
    const before = Date.now();
    const [revoked, rolled] = await Promise.all([cliJson(db, 'keys', 'revoke', a.key.id), cliJson(db, 'keys', 'roll', b.key.id, '--grace', '1h')]);
    expect(revoked).toMatchObject({ id: a.key.id, state: 'revoked' });
    expect(rolled.secret).toMatch(/^tg_live_/);
    expect(rolled.key).toMatchObject({ name: 'b', allowedModels: ['chat'], state: 'active' });
    expect(rolled.previous).toMatchObject({ id: b.key.id, rolledTo: rolled.key.id, state: 'active' });
    expect(rolled.previous.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(rolled.previous.expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);

    const [shown, list, refused] = await Promise.all([
      cli(db, 'keys', 'show', a.key.id),
      cliJson(db, 'keys', 'list', '--customer', 'roller'),
      cli(db, 'keys', 'roll', a.key.id),
    ]);
    expect(shown.stdout).toMatch(/^state:\s+revoked$/m);
    expect(list.map((k: any) => k.id).sort()).toEqual([a.key.id, b.key.id, rolled.key.id].sort());
    expect(list.find((k: any) => k.id === b.key.id)).toMatchObject({ expiresAt: rolled.previous.expiresAt, state: 'active' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is revoked; only active keys can be rolled/);
    const retired = await cli(db, 'keys', 'roll', rolled.key.id, '--grace', '0');
    expect(retired.code).toBe(0);
    expect(retired.stdout).toMatch(/^ {2}tg_live_[0-9A-Za-z]{38}$/m);
    expect(retired.stdout).toMatch(new RegExp(`old key ${rolled.key.id} \\(tg_live_\\w+\\) now expires \\d{4}-\\d{2}-\\d{2}T`));
  });

  test('usage on an empty ledger is all zeros for the current month', async ({ expect }) => {
    const db = freshDb();
    const usage = await cliJson(db, 'usage', '--by', 'model,day');
    const now = new Date();
    expect(usage.from).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString());
    expect(usage.lines).toEqual([]);
    expect(usage.totals).toEqual({
      requests: 0, errors: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0,
      cached_tokens: 0, reasoning_tokens: 0, predictions: 0, estimated: 0,
    });
  });

  test('bad input exits non-zero with a clear message', async ({ expect }) => {
    const db = freshDb();
    const [verb, noun, name, expires, option, json, notFound] = await Promise.all([
      cli(db, 'keys', 'frobnicate'),
      cli(db, 'frobnicate'),
      cli(db, 'customers', 'create', '--email', 'x@y.test'),
      cli(db, 'keys', 'create', '--customer', 'nobody', '--expires', 'next tuesday'),
      cli(db, 'plans', 'list', '--colour'),
      cli(db, 'plans', 'create', '--json'),
      cli(db, 'customers', 'show', 'nobody', '--json'),
    ]);
    expect(verb).toMatchObject({ code: 2, stdout: '' });
    expect(verb.stderr).toMatch(/^error: unknown verb 'frobnicate' for 'keys'; verbs: create, list, show, update, revoke, roll/);
    expect(noun.code).toBe(2);
    expect(noun.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/^error: --name is required\nrun 'tollgate customers create --help'/);
    expect(expires.code).toBe(2);
    expect(expires.stderr).toMatch(/--expires must be an ISO time .* or a duration like 30d, 12h, 15m; got 'next tuesday'/);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/Unknown option '--colour'/);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'usage_error', message: '--name is required' });
    expect(notFound.code).toBe(1);
    expect(JSON.parse(notFound.stderr)).toEqual({ error: { code: 'not_found', message: "No customer 'nobody'.", param: 'customer' } });
  });

  test('--help on every level lists the commands and every option', async ({ expect }) => {
    const db = freshDb();
    const [top, noun, verb] = await Promise.all([cli(db, '--help'), cli(db, 'keys', '--help'), cli(db, 'models', 'add', '-h')]);
    expect(top.code).toBe(0);
    for (const command of ['serve', 'migrate', 'customers create', 'plans list', 'models remove', 'keys roll', 'usage']) {
      expect(top.stdout).toContain(`tollgate ${command}`);
    }
    expect(noun.stdout).toMatch(/tollgate keys create --customer <id\|name> \[--name <name>\] \[--test\] \[--models <a,b>\]/);
    for (const option of ['--protocol', '--url', '--upstream-model', '--credential-env', '--timeout-ms', '--weight', '--priority', '--units', '--unit-header', '--backend', '--json', '--db', '--help']) {
      expect(verb.stdout).toContain(option);
    }
  });

  test('a revoke from the CLI process is refused on the very next gateway request', async ({ expect }) => {
    const gw = await startTestGateway();
    try {
      await cliJson(gw.dbPath, 'customers', 'create', '--name', 'cross-process');
      const { key, secret } = await cliJson(gw.dbPath, 'keys', 'create', '--customer', 'cross-process');
      const call = () =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hello' }] }),
        });
      const ok = await call();
      expect(ok.status).toBe(200);
      await ok.arrayBuffer();
      const revoked = await cli(gw.dbPath, 'keys', 'revoke', key.displayPrefix);
      expect(revoked.code).toBe(0);
      const refused = await call();
      expect(refused.status).toBe(401);
      expect((await refused.json()).error.code).toBe('key_revoked');
    } finally {
      await gw.stop();
    }
  });
});
