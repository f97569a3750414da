import { recordAlertEvent } from '../../db/repos/alerts.repo';
import type { AlertEventRow } from '../../db/schema';
import type { Db } from '../../db/types';
import { newId } from '../../domain/ids';
import type { AlertSink, ThresholdCrossing } from '../limits/types';

/** The webhook event types, one per alert kind. */
export const ALERT_EVENT_TYPES = { budget: 'budget.threshold_crossed', credits: 'credits.threshold_crossed' } as const;

/** The webhook body of a crossing (also stored as the event's payload, so every retry sends the same bytes). */
export function alertPayload(id: string, event: ThresholdCrossing): string {
  return JSON.stringify({
    id,
    type: ALERT_EVENT_TYPES[event.kind],
    created: Math.floor(event.at / 1000),
    data: {
      customer_id: event.customerId,
      threshold_percent: event.thresholdPercent,
      period_start: Math.floor(event.periodStart / 1000),
      used: event.usedMicros / 1_000_000,
      limit: event.limitMicros / 1_000_000,
      currency: event.currency,
    },
  });
}

/**
 * The alert sink of the request path: `crossed()` only queues (it runs inside a call's settlement), and
 * the queue is written on the next turn of the event loop — one `alert_events` row per crossing, kept
 * once per customer, kind, threshold and period by a unique index (so also across restarts), plus a
 * pending webhook delivery when the customer has a webhook URL.
 */
export class AlertRecorder implements AlertSink {
  private queue: ThresholdCrossing[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void,
    /** Called after a batch is written (the webhook worker delivers at once instead of at its next poll). */
    private readonly onRecorded: () => void = () => {},
    private readonly defer: (run: () => void) => void = (run) => void setImmediate(run),
  ) {}

  crossed(event: ThresholdCrossing): void {
    this.queue.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => void this.flush());
  }

  /** Writes everything queued; also called when draining, before the store closes. */
  async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const event of batch) {
      const row: AlertEventRow = {
        id: newId('evt'),
        customerId: event.customerId,
        kind: event.kind,
        thresholdPercent: event.thresholdPercent,
        periodStart: event.periodStart,
        payload: '',
        createdAt: event.at,
      };
      row.payload = alertPayload(row.id, event);
      try {
        await recordAlertEvent(this.db, row, newId('whd'));
      } catch (error) {
        this.log('error', 'alert event not recorded', { customerId: event.customerId, kind: event.kind, threshold: event.thresholdPercent, error: String(error) });
      }
    }
    if (batch.length) this.onRecorded();
  }
}
