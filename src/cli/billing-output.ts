import type { RepairAction } from '../services/billing/repair.service';
import type { ReconcileReport } from '../services/billing/reconcile.service';
import type { ParkedRow } from '../services/billing/parked.service';
import type { SyncReport } from '../services/billing/sync.service';
import type { SetupLine } from '../services/billing/setup.service';
import { fields, table } from './output';

/** `billing setup` as text. */
export const setupText = (lines: SetupLine[]) =>
  table(['meter', 'event name', 'stripe meter', 'action'], lines.map((l) => [l.meter, l.eventName, l.stripeMeterId, l.action]));

/** `billing sync` as text: what moved, then the outbox by status. */
export function syncText(r: SyncReport): string {
  const head = fields([
    ['ledger rows claimed', r.claimed.rows],
    ['claim cursor', r.claimed.cursor],
    ['delivered', r.sent.delivered],
    ['  of which already at Stripe', r.sent.duplicates],
    ['confirmed by summaries', r.verified.confirmed],
    ['parked', r.sent.parked + r.verified.parked],
    ['deferred (Stripe failing)', r.sent.deferred],
    ['expired (past 35 days)', r.expired.length],
    ['stripe calls', r.sent.calls],
    ['channel', r.sent.channel ?? 'none'],
    ['suspended (payment grace over)', r.suspended.length],
  ]);
  const expired = r.expired.length
    ? `\n\nexpired usage (not billed; older than Stripe accepts):\n${table(['customer', 'meter', 'bucket', 'value'], r.expired.map((e) => [e.customerId, e.meter, new Date(e.bucketStart).toISOString(), e.value]))}`
    : '';
  return `${head}\n\noutbox:\n${table(['status', 'rows', 'value'], r.outbox.map((o) => [o.status, o.rows, o.value]))}${expired}`;
}

/** `billing reconcile` as text: one line per customer × meter × day, then the verdict. */
export function reconcileText(r: ReconcileReport, repairs?: RepairAction[]): string {
  const rows = r.lines.map((l) => [l.customerName, l.meter, l.day, l.served, l.ledger, l.stripe ?? '-', l.drift, l.status, l.reasons.join('; ')]);
  const verdict = r.ok ? 'no drift beyond what is in flight' : 'DRIFT: see the lines marked drift';
  const repaired = repairs?.length
    ? `\n\nrepairs:\n${table(['customer', 'meter', 'bucket', 'action', 'value', 'detail'], repairs.map((a) => [a.customerId, a.meter, a.bucketStart, a.action, a.value, a.detail]))}`
    : '';
  return `${r.from} … ${r.to}\n${table(['customer', 'meter', 'day', 'served', 'ledger', 'stripe', 'drift', 'status', 'why'], rows)}${repaired}\n\n${verdict}`;
}

/** `billing parked` as text. */
export const parkedText = (rows: ParkedRow[]) =>
  table(['identifier', 'customer', 'meter', 'bucket', 'value', 'attempts', 'reason'], rows.map((p) => [p.identifier, p.customerId, p.meter, p.bucketStart, p.value, p.attempts, p.reason]));
