import { getAlertEvents, getWebhookDeliveries } from '../services/alerts/alerts.service';
import { parseInteger, type Noun } from './args';
import { iso, table } from './output';

const limitOption = { type: 'string' as const, value: 'n', help: 'at most this many rows, newest first (default 100)' };

/** `tollgate alerts list`. */
export const alertsNoun: Noun = {
  name: 'alerts',
  summary: 'Budget and credit threshold alerts (each fires once per threshold and period).',
  verbs: [
    {
      name: 'alerts list',
      summary: 'List recorded alerts, newest first.',
      options: {
        customer: { type: 'string', value: 'id|name', help: 'only this customer\'s alerts' },
        limit: limitOption,
      },
      async run({ args, admin }) {
        const events = await getAlertEvents(admin(), { customer: args.string('customer'), limit: parseInteger(args.string('limit'), 'limit', 'alerts list') });
        const json = events.map((e) => ({ ...e, payload: JSON.parse(e.payload) as unknown }));
        const rows = events.map((e) => {
          const data = (JSON.parse(e.payload) as { data: { used: number; limit: number; currency: string } }).data;
          return [e.id, e.customerId, e.kind, `${e.thresholdPercent}%`, iso(e.periodStart), `${data.used}/${data.limit} ${data.currency}`, iso(e.createdAt)];
        });
        return { json, text: table(['id', 'customer', 'kind', 'threshold', 'period start', 'used/limit', 'created'], rows) };
      },
    },
  ],
};

/** `tollgate webhooks deliveries`. */
export const webhooksNoun: Noun = {
  name: 'webhooks',
  summary: 'Alert webhooks sent to customers\' URLs (signed, retried with backoff).',
  verbs: [
    {
      name: 'webhooks deliveries',
      summary: 'The delivery log: each alert\'s webhook, its attempts, last status and error.',
      options: {
        customer: { type: 'string', value: 'id|name', help: 'only this customer\'s deliveries' },
        status: { type: 'string', value: 'pending|delivered|failed', help: 'only deliveries in this state' },
        limit: limitOption,
      },
      async run({ args, admin }) {
        const deliveries = await getWebhookDeliveries(admin(), {
          customer: args.string('customer'),
          status: args.string('status'),
          limit: parseInteger(args.string('limit'), 'limit', 'webhooks deliveries'),
        });
        const rows = deliveries.map((d) => [
          d.id, d.eventId, d.customerId, d.status, d.attempts, d.lastStatus, d.lastError, iso(d.nextAttemptAt), iso(d.deliveredAt), d.url,
        ]);
        return { json: deliveries, text: table(['id', 'event', 'customer', 'status', 'attempts', 'last status', 'last error', 'next attempt', 'delivered', 'url'], rows) };
      },
    },
  ],
};
