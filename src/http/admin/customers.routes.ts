import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../context';
import { createCustomer, customerVersion, getCustomer, getCustomersPage, updateCustomer } from '../../services/customers.service';
import { CustomerCreate, CustomersQuery, CustomerUpdate, IfMatch, pathParam } from './requests';
import { adminRoute, auditOf, ifMatch, jsonResponse, setEtag } from './route';
import { Customer, listOf } from './schemas';
import { customerJson, listJson } from './views';

const CustomerList = listOf(Customer, 'CustomerList');
const CustomerParam = pathParam('customer', 'customer id or name');
const tags = ['customers'];

/** `/admin/v1/customers`: list, create, show, update (name, email, plan, suspend). */
export const customersApi = new OpenAPIHono<AppEnv>()
  .openapi(
    adminRoute({
      method: 'get',
      path: '/customers',
      operationId: 'listCustomers',
      summary: 'List customers, oldest first',
      tags,
      scope: 'admin:read',
      cli: 'customers list',
      request: { query: CustomersQuery },
      responses: { 200: jsonResponse(CustomerList, 'A page of customers') },
    }),
    async (c) => {
      const { cursor, limit, status, plan, email } = c.req.valid('query');
      const page = await getCustomersPage(c.var.deps, { status, planId: plan, email }, { cursor, limit });
      return c.json(listJson(page, customerJson), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'post',
      path: '/customers',
      operationId: 'createCustomer',
      summary: 'Create a customer, optionally on a plan',
      tags,
      scope: 'customers:write',
      cli: 'customers create',
      problems: [404],
      request: { body: { required: true, content: { 'application/json': { schema: CustomerCreate } } } },
      responses: { 201: jsonResponse(Customer, 'The new customer', true) },
    }),
    async (c) => {
      const { webhook_url: webhookUrl, ...body } = c.req.valid('json');
      const customer = await createCustomer(c.var.deps, { ...body, webhookUrl }, auditOf(c));
      setEtag(c, customerVersion(customer));
      return c.json(customerJson(customer, true), 201);
    },
  )
  .openapi(
    adminRoute({
      method: 'get',
      path: '/customers/{customer}',
      operationId: 'getCustomer',
      summary: 'Show a customer',
      tags,
      scope: 'admin:read',
      cli: 'customers show',
      problems: [404],
      request: { params: CustomerParam },
      responses: { 200: jsonResponse(Customer, 'The customer', true) },
    }),
    async (c) => {
      const customer = await getCustomer(c.var.deps, c.req.valid('param').customer);
      setEtag(c, customerVersion(customer));
      return c.json(customerJson(customer), 200);
    },
  )
  .openapi(
    adminRoute({
      method: 'patch',
      path: '/customers/{customer}',
      operationId: 'updateCustomer',
      summary: 'Change a customer: name, email, plan, status, alert webhook',
      tags,
      scope: 'customers:write',
      cli: 'customers update',
      problems: [404, 412, 428],
      request: { params: CustomerParam, headers: IfMatch, body: { required: true, content: { 'application/json': { schema: CustomerUpdate } } } },
      responses: { 200: jsonResponse(Customer, 'The customer as changed', true) },
    }),
    async (c) => {
      const { webhook_url: webhookUrl, rotate_webhook_secret: rotateWebhookSecret, ...rest } = c.req.valid('json');
      const before = await getCustomer(c.var.deps, c.req.valid('param').customer);
      const customer = await updateCustomer(c.var.deps, before.id, { ...rest, webhookUrl, rotateWebhookSecret }, { ifVersion: ifMatch(c), audit: auditOf(c) });
      setEtag(c, customerVersion(customer));
      return c.json(customerJson(customer, customer.webhookSecret !== before.webhookSecret), 200);
    },
  );
