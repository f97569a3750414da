import { describe, expect, test } from 'vitest';
import { backoffDelay, classifyStripeFailure } from './stripe-failure';
import { subsetWithSum } from './subset';

describe('classifyStripeFailure', () => {
  test.each([
    [{ status: 400, type: 'invalid_request_error', message: 'An event already exists with identifier tg_x_requests_1_0.' }, 'duplicate'],
    [{ status: 400, code: 'duplicate_meter_event', message: 'dup' }, 'duplicate'],
    [{ status: 429, code: 'rate_limit', message: 'Too many requests' }, 'retry'],
    [{ status: 409, message: 'lock_timeout' }, 'retry'],
    [{ status: 503, message: 'unavailable' }, 'retry'],
    [{ message: 'Request aborted due to timeout being reached (200ms)' }, 'retry'],
    [{ status: 401, type: 'temporary_session_expired', message: 'expired' }, 'session_expired'],
    [{ status: 401, type: 'invalid_request_error', message: 'Invalid API Key provided' }, 'fatal'],
    [{ status: 400, code: 'resource_missing', message: "No such customer: 'cus_x'" }, 'park'],
    [{ status: 404, message: 'No such meter' }, 'park'],
  ] as const)('%o → %s', (failure, action) => {
    expect(classifyStripeFailure(failure)).toBe(action);
  });
});

describe('backoffDelay', () => {
  test('full jitter under a doubling ceiling, capped', () => {
    expect(backoffDelay(0, 250, 15_000, () => 0.999)).toBe(249);
    expect(backoffDelay(3, 250, 15_000, () => 0.999)).toBe(1_998);
    expect(backoffDelay(20, 250, 15_000, () => 0.999)).toBe(14_985);
    expect(backoffDelay(5, 250, 15_000, () => 0)).toBe(10);
  });
});

describe('subsetWithSum', () => {
  test('finds the fewest items adding up to the target, or null', () => {
    expect(subsetWithSum([5, 7, 12], 12)).toEqual([2]);
    expect(subsetWithSum([5, 7, 3], 10)).toEqual([1, 2]);
    expect(subsetWithSum([5, 7], 0)).toEqual([]);
    expect(subsetWithSum([5, 7], 6)).toBeNull();
    expect(subsetWithSum([5, 7], -5)).toBeNull();
  });
});
