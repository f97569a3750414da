import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminClient, hsToken, startAdminGateway, unique } from './support/admin';
import type { TestGateway } from './support/gateway';

const BIN = resolve(import.meta.dirname, '../bin/tollgate.js');

let gw: TestGateway;
let call: ReturnType<typeof adminClient>;
beforeAll(async () => {
  gw = await startAdminGateway();
  call = adminClient(gw.url, await hsToken({ sub: 'auditor@tollgate.test' }));
});
afterAll(() => gw.stop());

/** The audit entries one request wrote (the admin API's own view). */
async function entriesOf(requestId: string | null) {
  const res = await call('GET', `/admin/v1/audit?request_id=${requestId}`);
  expect(res.status).toBe(200);
  return res.body.data;
}

/** Runs the real CLI against the gateway's SQLite file. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args, '--db', gw.dbPath, '--json'], { timeout: 20_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('audit log', () => {
  test('each HTTP mutation writes exactly one row: actor, action, target, request id, time', async () => {
    const name = unique('audited');
    const created = await call('POST', '/admin/v1/customers', { name, email: 'a@acme.test' });
    const [entry, ...more] = await entriesOf(created.headers.get('x-request-id'));
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      actor: 'auditor@tollgate.test',
      action: 'customer.create',
      target_type: 'customer',
      target_id: created.body.id,
      request_id: created.headers.get('x-request-id'),
      changes: { before: null, after: { id: created.body.id, name, email: 'a@acme.test', status: 'active' } },
    });
    expect(Math.abs(Date.parse(entry.created_at) - Date.now())).toBeLessThan(10_000);

    const etag = created.headers.get('etag')!;
    const updated = await call('PATCH', `/admin/v1/customers/${created.body.id}`, { email: 'b@acme.test', name }, { 'if-match': etag });
    const [diff] = await entriesOf(updated.headers.get('x-request-id'));
    expect(diff).toMatchObject({ action: 'customer.update', changes: { before: { email: 'a@acme.test' }, after: { email: 'b@acme.test' } } });

    const noop = await call('PATCH', `/admin/v1/customers/${created.body.id}`, { email: 'b@acme.test' }, { 'if-match': '*' });
    expect(noop.status).toBe(200);
    expect(await entriesOf(noop.headers.get('x-request-id'))).toEqual([]);
  });

  test('secrets never reach the log: key hashes and secrets are left out of every diff', async () => {
    const customer = unique('secretive');
    await call('POST', '/admin/v1/customers', { name: customer });
    const created = await call('POST', '/admin/v1/keys', { customer, name: 'k' });
    const rolled = await call('POST', `/admin/v1/keys/${created.body.key.id}/roll`, { grace: '0' });
    const revoked = await call('POST', `/admin/v1/keys/${rolled.body.key.id}/revoke`);
    const rows = [];
    for (const res of [created, rolled, revoked]) rows.push(...(await entriesOf(res.headers.get('x-request-id'))));
    expect(rows.map((r) => r.action)).toEqual(['key.create', 'key.roll', 'key.revoke']);
    expect(rows[1].changes).toEqual({
      before: { expires_at: null, rolled_to: null },
      after: { expires_at: rolled.body.previous.expires_at, rolled_to: rolled.body.key.id },
    });
    const stored = new Database(gw.dbPath, { readonly: true });
    const raw = JSON.stringify(stored.prepare('select * from audit_log').all());
    const hashes = stored.prepare('select hash from api_keys').pluck().all() as string[];
    stored.close();
    for (const secret of [created.body.secret, rolled.body.secret, ...hashes]) expect(raw).not.toContain(secret);
    expect(raw).not.toMatch(/"hash"/);
  });

  test('a webhook secret rotation is logged as a change without the secret', async () => {
    const name = unique('rotating');
    const created = await call('POST', '/admin/v1/customers', { name, webhook_url: 'https://hooks.acme.test/t' });
    expect((await entriesOf(created.headers.get('x-request-id')))[0].changes.after).toMatchObject({ webhook_url: 'https://hooks.acme.test/t', webhook_secret: '[redacted]' });
    const rotated = await call('PATCH', `/admin/v1/customers/${name}`, { rotate_webhook_secret: true }, { 'if-match': '*' });
    const [entry] = await entriesOf(rotated.headers.get('x-request-id'));
    expect(entry.changes).toEqual({ before: { webhook_secret: '[redacted]' }, after: { webhook_secret: '[redacted]' } });
    expect(JSON.stringify(entry)).not.toContain(rotated.body.webhook_secret);
  });

  test('CLI changes are logged too, with the OS user as actor', async () => {
    const name = unique('from-cli');
    const run = await cli('customers', 'create', '--name', name);
    expect(run.code, run.stderr).toBe(0);
    const id = JSON.parse(run.stdout).id;
    const res = await call('GET', `/admin/v1/audit?target_id=${id}`);
    expect(res.body.data).toEqual([expect.objectContaining({ actor: `cli:${userInfo().username}`, action: 'customer.create', request_id: null })]);
    const refused = await cli('models', 'remove', 'no-such-model');
    expect(refused.code).toBe(1);
    expect((await call('GET', `/admin/v1/audit?actor=cli:${userInfo().username}&action=model.delete`)).body.data).toEqual([]);
  });

  test('a refused change writes nothing; a change whose audit row cannot be written does not happen', async () => {
    const name = unique('atomic');
    const created = await call('POST', '/admin/v1/customers', { name });
    const stale = await call('PATCH', `/admin/v1/customers/${name}`, { email: 'x@acme.test' }, { 'if-match': '"stale"' });
    expect(stale.status).toBe(412);
    expect(await entriesOf(stale.headers.get('x-request-id'))).toEqual([]);

    // A trigger on another connection makes audit inserts by one actor fail; their changes must roll back with them.
    const db = new Database(gw.dbPath);
    db.exec(`CREATE TRIGGER refuse_doomed BEFORE INSERT ON audit_log WHEN NEW.actor = 'doomed' BEGIN SELECT RAISE(ABORT, 'audit refused'); END`);
    try {
      const doomed = adminClient(gw.url, await hsToken({ sub: 'doomed' }));
      const etag = created.headers.get('etag')!;
      const attempts = [
        await doomed('POST', '/admin/v1/customers', { name: `${name}-2` }),
        await doomed('PATCH', `/admin/v1/customers/${name}`, { email: 'y@acme.test' }, { 'if-match': etag }),
        await doomed('POST', '/admin/v1/keys', { customer: name }),
        await doomed('POST', '/admin/v1/models', { name: `${name}-m`, backends: [{ protocol: 'json', url: 'http://127.0.0.1:9/p' }, { protocol: 'json', url: 'http://127.0.0.1:10/p' }] }),
      ];
      expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 500]);
    } finally {
      db.exec('DROP TRIGGER refuse_doomed');
      db.close();
    }
    expect((await call('GET', `/admin/v1/customers/${name}-2`)).status).toBe(404);
    expect((await call('GET', `/admin/v1/customers/${name}`)).body.email).toBeNull();
    expect((await call('GET', `/admin/v1/keys?customer=${name}`)).body.data).toEqual([]);
    expect((await call('GET', `/admin/v1/models/${name}-m`)).status).toBe(404);
    const orphans = new Database(gw.dbPath, { readonly: true });
    expect(orphans.prepare("select count(*) from backends where base_url like 'http://127.0.0.1:10%'").pluck().get()).toBe(0);
    orphans.close();
  });

  test('the log is append-only: the store refuses UPDATE and DELETE', () => {
    const db = new Database(gw.dbPath);
    try {
      expect(() => db.prepare("update audit_log set actor = 'someone else'").run()).toThrow(/append-only/);
      expect(() => db.prepare('delete from audit_log').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });

  test('filters by actor, action and target, newest first, in pages', async () => {
    const actor = unique('pager');
    const mine = adminClient(gw.url, await hsToken({ sub: actor }));
    const plan = await mine('POST', '/admin/v1/plans', { name: unique('plan') });
    let etag = plan.headers.get('etag')!;
    for (const rates of [1, 2, 3]) {
      const res = await mine('PATCH', `/admin/v1/plans/${plan.body.id}`, { limits: { rates: [{ requests: rates, per: '1s' }] } }, { 'if-match': etag });
      etag = res.headers.get('etag')!;
    }
    const first = await call('GET', `/admin/v1/audit?actor=${actor}&limit=3`);
    expect(first.body.data.map((e: { action: string }) => e.action)).toEqual(['plan.update', 'plan.update', 'plan.update']);
    expect(first.body.data[0].changes.after).toEqual({ limits: { rates: [{ requests: 3, per: '1s' }] } });
    const second = await call('GET', `/admin/v1/audit?actor=${actor}&limit=3&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((e: { action: string }) => e.action)).toEqual(['plan.create']);
    expect(second.body.next_cursor).toBeNull();
    const byTarget = await call('GET', `/admin/v1/audit?target_type=plan&target_id=${plan.body.id}&action=plan.create`);
    expect(byTarget.body.data).toHaveLength(1);
    const none = await call('GET', `/admin/v1/audit?actor=${actor}&from=2001-01-01&to=2001-01-02`);
    expect(none.body.data).toEqual([]);
  });
});
