import { listAlertEvents, listDeliveries } from '../../db/repos/alerts.repo';
import type { AlertEventRow, WebhookDeliveryRow } from '../../db/schema';
import { ServiceError } from '../../domain/errors';
import type { AdminDeps } from '../admin';
import { getCustomer } from '../customers.service';

const STATUSES = ['pending', 'delivered', 'failed'] as const;

/** Budget and credit alerts recorded so far, newest first, optionally of one customer (id or name). */
export async function getAlertEvents(deps: AdminDeps, filter: { customer?: string; limit?: number } = {}): Promise<AlertEventRow[]> {
  const customerId = filter.customer ? (await getCustomer(deps, filter.customer)).id : undefined;
  return listAlertEvents(deps.db, { customerId, limit: filter.limit });
}

/** The webhook delivery log, newest first, optionally of one customer and/or one status. */
export async function getWebhookDeliveries(
  deps: AdminDeps,
  filter: { customer?: string; status?: string; limit?: number } = {},
): Promise<WebhookDeliveryRow[]> {
  if (filter.status !== undefined && !STATUSES.includes(filter.status as (typeof STATUSES)[number])) {
    throw new ServiceError('invalid_request', `The status must be one of ${STATUSES.join(', ')}; got '${filter.status}'.`, 'status');
  }
  const customerId = filter.customer ? (await getCustomer(deps, filter.customer)).id : undefined;
  return listDeliveries(deps.db, { customerId, status: filter.status as WebhookDeliveryRow['status'] | undefined, limit: filter.limit });
}
