import { describe, expect, test } from 'vitest';
import { judgeWindow, NO_OUTBOX, type WindowFacts } from './reconcile';
import { earliestEventAt, eventTimestampFor, HOUR_MS, outboxIdentifier, STRIPE_MAX_EVENT_AGE_MS } from './time';

const facts = (f: Partial<WindowFacts>): WindowFacts => ({ served: 0, ledger: 0, unclaimed: 0, stripe: 0, usage: NO_OUTBOX, repair: NO_OUTBOX, parkedReasons: [], ...f });
const state = (s: Partial<typeof NO_OUTBOX>) => ({ ...NO_OUTBOX, ...s });

describe('judgeWindow', () => {
  test("usage delivered within the summary lag is in flight, not missing (Stripe's summaries lag; repairing would bill twice)", () => {
    expect(judgeWindow(facts({ ledger: 10, stripe: 0, usage: state({ delivered: 10, deliveredRecently: 10 }) }))).toMatchObject({ status: 'in_flight', missingAtStripe: 0 });
    expect(judgeWindow(facts({ ledger: 10, stripe: 0, usage: state({ delivered: 10, deliveredRecently: 4 }) }))).toMatchObject({ status: 'drift', missingAtStripe: 6 });
  });

  test('equal totals are ok; what is unclaimed or queued is in flight, not drift', () => {
    expect(judgeWindow(facts({ ledger: 10, stripe: 10, usage: state({ delivered: 10 }) }))).toMatchObject({ status: 'ok', drift: 0, reasons: [] });
    expect(judgeWindow(facts({ ledger: 10, unclaimed: 3, stripe: 5, usage: state({ delivered: 5, pending: 2, pendingAttempted: 2 }) }))).toMatchObject({ status: 'in_flight', drift: 5 });
    // A queued row that already reached Stripe is not "extra".
    expect(judgeWindow(facts({ ledger: 10, stripe: 10, usage: state({ delivered: 6, pending: 4, pendingAttempted: 4 }) }))).toMatchObject({ status: 'in_flight', extraAtStripe: 0 });
  });

  test('parked, expired, never claimed, missing and extra are drift, each explained', () => {
    expect(judgeWindow(facts({ ledger: 10, stripe: 6, usage: state({ delivered: 6, parked: 4 }), parkedReasons: ['400 resource_missing'] }))).toMatchObject({ status: 'drift', reasons: ['parked 4: 400 resource_missing'] });
    expect(judgeWindow(facts({ ledger: 10, stripe: 0, usage: state({ expired: 10 }) })).reasons[0]).toMatch(/^expired 10/);
    expect(judgeWindow(facts({ ledger: 10, stripe: 0 }))).toMatchObject({ status: 'drift', notClaimed: 10, missingAtStripe: 0 });
    expect(judgeWindow(facts({ ledger: 10, stripe: 7, usage: state({ delivered: 10 }) }))).toMatchObject({ status: 'drift', missingAtStripe: 3 });
    expect(judgeWindow(facts({ ledger: 10, stripe: 14, usage: state({ delivered: 10 }) }))).toMatchObject({ status: 'drift', extraAtStripe: 4 });
  });

  test('a repaired window is clean; an unlinked customer waits', () => {
    expect(judgeWindow(facts({ ledger: 10, stripe: 10, usage: state({ delivered: 10 }), repair: state({ delivered: 4 }) }))).toMatchObject({ status: 'ok' });
    expect(judgeWindow(facts({ ledger: 10, stripe: null, usage: state({ pending: 10 }) }))).toMatchObject({ status: 'unlinked' });
  });
});

describe('event time and identifier', () => {
  test("stamps the bucket's start, moved into Stripe's 35-day window while still inside the bucket", () => {
    const now = Date.UTC(2030, 5, 15, 12);
    const recent = Date.UTC(2030, 5, 15, 9);
    expect(eventTimestampFor(recent, recent + HOUR_MS, now)).toBe(recent);
    const edge = Math.floor((now - STRIPE_MAX_EVENT_AGE_MS) / HOUR_MS) * HOUR_MS;
    expect(earliestEventAt(now)).toBe(edge + 10 * 60_000);
    expect(eventTimestampFor(edge, edge + HOUR_MS, now)).toBe(edge + 10 * 60_000);
    expect(eventTimestampFor(edge - HOUR_MS, edge, now)).toBeNull();
    expect(outboxIdentifier('cus_abc', 'input_tokens', recent, 2)).toBe(`tg_cus_abc_input_tokens_${recent / 1000}_2`);
  });
});
