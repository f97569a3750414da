import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import { getAlertEvents, getWebhookDeliveries } from '../../services/alerts/alerts.service';
import { grantCredits } from '../../services/credits.service';
import { AlertsQuery, CreditGrantCreate, DeliveriesQuery, pathParam } from './requests';
import { adminRoute, auditOf, jsonResponse } from './route';
import { AlertEvent, CreditGrant, WebhookDelivery } from './account-schemas';
import { listOf } from './schemas';
import { alertJson, creditGrantJson, deliveryJson } from './views';

const AlertList = listOf(AlertEvent, 'AlertList');
const DeliveryList = listOf(WebhookDelivery, 'WebhookDeliveryList');
/** These lists are "the newest N": one page, never a cursor. */
const newest = <T>(data: T[]) => ({ object: 'list' as const, data, next_cursor: null });

/** Prepaid credits, budget and credit alerts, and the alert webhooks' delivery log. */
export const accountsApi = new OpenAPIHono<AppEnv>()
  .openapi(
    adminRoute({
      method: 'post',
      path: '/customers/{customer}/credits',
      operationId: 'grantCredits',
      summary: 'Add prepaid credit to a customer (a negative amount takes credit back)',
      tags: ['customers'],
      scope: 'customers:write',
      cli: 'credits grant',
      problems: [404],
      request: { params: pathParam('customer', 'customer id or name'), body: { required: true, content: { 'application/json': { schema: CreditGrantCreate } } } },
      responses: { 201: jsonResponse(CreditGrant, 'The grant') },
    }),
    async (c) => {
      const { amount, reason } = c.req.valid('json');
      const grant = await grantCredits(c.var.deps, { customer: c.req.valid('param').customer, amount, reason }, auditOf(c));
      return c.json(creditGrantJson(grant), 201);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/alerts',
      operationId: 'listAlerts',
      summary: 'Budget and credit threshold alerts, newest first',
      tags: ['alerts'],
      scope: 'admin:read',
      cli: 'alerts list',
      problems: [404],
      request: { query: AlertsQuery },
      responses: { 200: jsonResponse(AlertList, 'The newest alerts') },
    }),
    async (c) => c.json(newest((await getAlertEvents(c.var.deps, c.req.valid('query'))).map(alertJson)), 200),
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/webhook-deliveries',
      operationId: 'listWebhookDeliveries',
      summary: 'The alert webhooks\u2019 delivery log: attempts, last status and error, newest first',
      tags: ['alerts'],
      scope: 'admin:read',
      cli: 'webhooks deliveries',
      problems: [404],
      request: { query: DeliveriesQuery },
      responses: { 200: jsonResponse(DeliveryList, 'The newest deliveries') },
    }),
    async (c) => c.json(newest((await getWebhookDeliveries(c.var.deps, c.req.valid('query'))).map(deliveryJson)), 200),
  );
