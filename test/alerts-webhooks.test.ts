import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { verifyWebhookSignature } from '../src/services/alerts/webhook-signature';
import { grantCredits } from '../src/services/credits.service';
import { getCustomer, updateCustomer } from '../src/services/customers.service';
import { updatePlan } from '../src/services/plans.service';
import { runCli } from './support/cli';
import { chat, eventually, keyOnPlan, query, startReceiver, startRestartableGateway, type RestartableGateway, type WebhookReceiver } from './support/limits';

// Fast retries: 10 ms, 30 ms, 120 ms, … (±20 %); four attempts before a delivery is failed.
let gw: RestartableGateway;
const receivers: WebhookReceiver[] = [];
beforeAll(async () => {
  gw = await startRestartableGateway({ TOLLGATE_WEBHOOK_RETRY_BASE_MS: '10', TOLLGATE_WEBHOOK_MAX_ATTEMPTS: '4' });
});
afterAll(async () => {
  await gw.stop();
  for (const r of receivers) await r.close();
});

async function receiver(status?: (n: number) => number): Promise<WebhookReceiver> {
  const r = await startReceiver(status);
  receivers.push(r);
  return r;
}

interface EventRow { id: string; kind: string; threshold_percent: number; period_start: number; payload: string }
interface DeliveryRow { id: string; event_id: string; status: string; attempts: number; last_status: number | null; last_error: string | null; url: string }

const events = (customerId: string) =>
  query<EventRow>(gw.dbPath, 'SELECT * FROM alert_events WHERE customer_id = ? ORDER BY threshold_percent, kind', customerId);
const deliveries = (customerId: string) =>
  query<DeliveryRow>(gw.dbPath, 'SELECT * FROM webhook_deliveries WHERE customer_id = ? ORDER BY created_at, id', customerId);

/** A plan with a 1.00 monthly budget, 0.10 per call, alerting at 50/80/100 %, for a customer with a webhook URL. */
async function budgetCustomer(webhookUrl?: string) {
  return keyOnPlan(gw.deps, { prices: { '*': { perRequest: 0.1 } }, budget: { amount: 1, alerts: [50, 80, 100] } }, { webhookUrl });
}

async function calls(secret: string, n: number): Promise<number[]> {
  const statuses = [];
  for (let i = 0; i < n; i++) statuses.push((await chat(gw.url, secret)).status);
  return statuses;
}

const monthStart = () => {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};

describe('budget and credit alerts', () => {
  test('each threshold fires once per period, also after a restart on the same database', async () => {
    const hook = await receiver();
    const { secret, customerId, planId } = await budgetCustomer(hook.url);
    expect(await calls(secret, 10)).toEqual(Array(10).fill(200));
    expect(await calls(secret, 1)).toEqual([429]);
    await eventually(() => (events(customerId).length === 3 ? true : undefined), 3_000, 'three alert events');
    const recorded = events(customerId);
    expect(recorded.map((e) => [e.kind, e.threshold_percent, e.period_start])).toEqual([
      ['budget', 50, monthStart()],
      ['budget', 80, monthStart()],
      ['budget', 100, monthStart()],
    ]);
    expect(JSON.parse(recorded[0].payload)).toMatchObject({
      id: recorded[0].id,
      type: 'budget.threshold_crossed',
      data: { customer_id: customerId, threshold_percent: 50, period_start: monthStart() / 1000, used: 0.5, limit: 1, currency: 'usd' },
    });
    await eventually(() => (hook.received.length === 3 ? true : undefined), 3_000, 'three webhooks');

    // After a restart the spend (1.00) is rebuilt from the ledger. A larger budget makes 80 % crossable
    // again (1.60 of 2.00) — but this period's 80 % alert already fired, so only the new 90 % one is added.
    await gw.restart();
    await updatePlan(gw.deps, planId, { limits: { prices: { '*': { perRequest: 0.1 } }, budget: { amount: 2, alerts: [50, 80, 90, 100] } } });
    expect(await calls(secret, 8)).toEqual(Array(8).fill(200));
    await gw.restart(); // drains: anything queued is written before the store closes
    expect(events(customerId).map((e) => e.threshold_percent)).toEqual([50, 80, 90, 100]);
    expect(JSON.parse(events(customerId)[2].payload).data).toMatchObject({ threshold_percent: 90, used: 1.8, limit: 2 });
    expect(deliveries(customerId)).toHaveLength(4);
    await eventually(() => (hook.received.length === 4 ? true : undefined), 3_000, 'the 90 % webhook');
    expect(hook.received.map((r) => JSON.parse(r.body).data.threshold_percent).sort()).toEqual([100, 50, 80, 90]);
  });

  test('credit thresholds are measured against the credits granted', async () => {
    const { secret, customerId } = await keyOnPlan(gw.deps, { credits: { alerts: [50, 90] }, prices: { '*': { perRequest: 0.1 } } });
    await grantCredits(gw.deps, { customer: customerId, amount: 1 });
    expect(await calls(secret, 5)).toEqual(Array(5).fill(200));
    const [event] = await eventually(() => (events(customerId).length === 1 ? events(customerId) : undefined), 3_000, 'a credits alert');
    expect(event).toMatchObject({ kind: 'credits', threshold_percent: 50 });
    expect(JSON.parse(event.payload)).toMatchObject({ type: 'credits.threshold_crossed', data: { used: 0.5, limit: 1 } });
    // No webhook URL: the event is recorded, nothing is delivered.
    expect(deliveries(customerId)).toEqual([]);
  });
});

describe('webhooks', () => {
  test('delivered once with a valid HMAC signature and the event id; the delivery log says so', async () => {
    const hook = await receiver();
    const { secret, customerId } = await budgetCustomer(hook.url);
    const { webhookSecret } = await getCustomer(gw.deps, customerId);
    expect(webhookSecret).toMatch(/^whsec_[0-9A-Za-z]{32}$/);
    await calls(secret, 5);
    const [got] = await eventually(() => (hook.received.length ? hook.received : undefined), 3_000, 'a webhook');
    expect(got.headers['content-type']).toBe('application/json');
    const signature = got.headers['tollgate-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(got.body, signature, webhookSecret!)).toBe(true);
    expect(verifyWebhookSignature(`${got.body} `, signature, webhookSecret!)).toBe(false);
    expect(verifyWebhookSignature(got.body, signature, 'whsec_wrong')).toBe(false);
    expect(verifyWebhookSignature(got.body, signature, webhookSecret!, { now: Date.now() + 3_600_000 })).toBe(false);
    const body = JSON.parse(got.body) as { id: string; type: string; created: number; data: Record<string, unknown> };
    expect(got.headers['tollgate-event-id']).toBe(body.id);
    expect(body).toMatchObject({ type: 'budget.threshold_crossed', data: { customer_id: customerId, threshold_percent: 50, used: 0.5, limit: 1, currency: 'usd' } });
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(10);
    const [delivery] = await eventually(() => {
      const rows = deliveries(customerId);
      return rows[0]?.status === 'delivered' ? rows : undefined;
    });
    expect(delivery).toMatchObject({ event_id: body.id, status: 'delivered', attempts: 1, last_status: 200, last_error: null, url: hook.url });
    expect(hook.received).toHaveLength(1);
  });

  test('retried with backoff after the receiver answers 500, then delivered', async () => {
    const hook = await receiver((n) => (n <= 2 ? 500 : 204));
    const { secret, customerId } = await budgetCustomer(hook.url);
    await calls(secret, 5);
    const [delivery] = await eventually(() => {
      const rows = deliveries(customerId);
      return rows[0]?.status === 'delivered' ? rows : undefined;
    });
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, last_status: 204, last_error: null });
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.headers['tollgate-event-id']))).toEqual(new Set([delivery.event_id]));
    // Backoff: the second retry waited about three times as long as the first (10 ms and 30 ms, ±20 %).
    const [a, b, c] = hook.received.map((r) => r.at);
    expect(b - a).toBeGreaterThanOrEqual(7);
    expect(c - b).toBeGreaterThanOrEqual(23);
  });

  test('failed after the maximum number of attempts, with the last status and error recorded', async () => {
    const hook = await receiver(() => 500);
    const { secret, customerId } = await budgetCustomer(hook.url);
    await calls(secret, 5);
    const [delivery] = await eventually(() => {
      const rows = deliveries(customerId);
      return rows[0]?.status === 'failed' ? rows : undefined;
    });
    expect(delivery).toMatchObject({ status: 'failed', attempts: 4, last_status: 500, last_error: 'the receiver answered 500' });
    expect(hook.received).toHaveLength(4);
  });

  test('an unreachable receiver is retried too; a URL set later applies to later alerts', async () => {
    const { secret, customerId } = await budgetCustomer('http://127.0.0.1:9/unreachable');
    await calls(secret, 5);
    const [delivery] = await eventually(() => {
      const rows = deliveries(customerId);
      return rows[0]?.status === 'failed' ? rows : undefined;
    });
    expect(delivery.attempts).toBe(4);
    expect(delivery.last_status).toBeNull();
    expect(delivery.last_error).toBeTruthy();
    const hook = await receiver();
    await updateCustomer(gw.deps, customerId, { webhookUrl: hook.url });
    await calls(secret, 3);
    await eventually(() => (hook.received.length === 1 ? true : undefined), 3_000, 'the 80 % webhook at the new URL');
    expect(JSON.parse(hook.received[0].body)).toMatchObject({ data: { threshold_percent: 80 } });
  });
});

describe('CLI', () => {
  const cli = (...args: string[]) => runCli(gw.dbPath, ...args);

  test('customers update --webhook-url prints the secret once; alerts list and webhooks deliveries show the log', async () => {
    const hook = await receiver();
    const { secret, customerId } = await budgetCustomer();
    const [set, again] = [await cli('customers', 'update', customerId, '--webhook-url', hook.url, '--json'), await cli('customers', 'update', customerId, '--email', 'ops@example.test', '--json')];
    expect(set.code).toBe(0);
    const shown = JSON.parse(set.stdout) as { webhookUrl: string; webhook_secret: string; webhookSecret?: string };
    expect(shown.webhookUrl).toBe(hook.url);
    expect(shown.webhook_secret).toMatch(/^whsec_/);
    expect(shown.webhookSecret).toBeUndefined();
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('whsec_');
    await calls(secret, 5);
    await eventually(() => (hook.received.length === 1 ? true : undefined), 3_000, 'a webhook');
    expect(verifyWebhookSignature(hook.received[0].body, hook.received[0].headers['tollgate-signature'] as string, shown.webhook_secret)).toBe(true);
    await eventually(() => (deliveries(customerId)[0]?.status === 'delivered' ? true : undefined));

    const [alerts, delivered, failed, bad] = await Promise.all([
      cli('alerts', 'list', '--customer', customerId, '--json'),
      cli('webhooks', 'deliveries', '--customer', customerId, '--status', 'delivered'),
      cli('webhooks', 'deliveries', '--customer', customerId, '--status', 'failed', '--json'),
      cli('webhooks', 'deliveries', '--status', 'lost'),
    ]);
    expect(alerts.code).toBe(0);
    expect(JSON.parse(alerts.stdout)).toEqual([expect.objectContaining({ customerId, kind: 'budget', thresholdPercent: 50, payload: expect.objectContaining({ type: 'budget.threshold_crossed' }) })]);
    expect(delivered.code).toBe(0);
    expect(delivered.stdout.split('\n')[0]).toMatch(/^ID\s+EVENT\s+CUSTOMER\s+STATUS\s+ATTEMPTS/);
    expect(delivered.stdout).toMatch(/delivered\s+1\s+200\s/);
    expect(JSON.parse(failed.stdout)).toEqual([]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('pending, delivered, failed');
  });
});
