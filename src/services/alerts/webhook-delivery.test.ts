import { expect, test } from 'vitest';
import { BACKOFF_STEPS, retryDelay } from './webhook-delivery.service';
import { signWebhook, verifyWebhookSignature } from './webhook-signature';

test('retries back off from the base: 10 s, 30 s, 2 min, … then hourly, each within ±20 %', () => {
  const base = 10_000;
  const middle = () => 0.5;
  expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => retryDelay(n, base, middle))).toEqual([
    10_000, 30_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 3_600_000, 3_600_000,
  ]);
  expect(retryDelay(1, base, () => 0)).toBe(8_000);
  expect(retryDelay(1, base, () => 0.999999)).toBe(12_000);
  expect(BACKOFF_STEPS.every((step, i) => i === 0 || step > BACKOFF_STEPS[i - 1])).toBe(true);
});

test('a signature verifies only for the same body, secret and a fresh timestamp', () => {
  const now = Date.UTC(2030, 0, 1);
  const t = Math.floor(now / 1000);
  const body = '{"id":"evt_1","type":"budget.threshold_crossed"}';
  const header = signWebhook('whsec_a', body, t);
  expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  expect(verifyWebhookSignature(body, header, 'whsec_a', { now })).toBe(true);
  expect(verifyWebhookSignature(body, `${header},v1=${'0'.repeat(64)}`, 'whsec_a', { now })).toBe(true);
  expect(verifyWebhookSignature(body, header, 'whsec_b', { now })).toBe(false);
  expect(verifyWebhookSignature(`${body}\n`, header, 'whsec_a', { now })).toBe(false);
  expect(verifyWebhookSignature(body, header, 'whsec_a', { now: now + 301_000 })).toBe(false);
  expect(verifyWebhookSignature(body, header, 'whsec_a', { now: now + 301_000, toleranceSeconds: 600 })).toBe(true);
  expect(verifyWebhookSignature(body, 'v1=abc', 'whsec_a', { now })).toBe(false);
  expect(verifyWebhookSignature(body, undefined, 'whsec_a', { now })).toBe(false);
});
