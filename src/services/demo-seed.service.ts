import { countCustomers } from '../db/repos/customers.repo';
import type { AdminDeps } from './admin';
import { createCustomer } from './customers.service';
import { createKey } from './keys.service';
import { addModel } from './models.service';
import { createPlan } from './plans.service';

/** What a first start created; `secret` is shown once and never again. */
export interface DemoSeed {
  customerId: string;
  keyId: string;
  secret: string;
  models: string[];
}

/**
 * On a fresh database, creates a demo plan, customer, models pointing at the bundled demo backend, and a
 * key. Returns null when the database already has customers, so a restart prints no new secret.
 */
export async function seedDemo(deps: AdminDeps, demoBackendUrl: string): Promise<DemoSeed | null> {
  if ((await countCustomers(deps.db)) > 0) return null;
  const plan = await createPlan(deps, { name: 'demo' });
  const customer = await createCustomer(deps, { name: 'demo', plan: plan.id });
  const models = [
    { name: 'demo-chat', protocol: 'openai', url: `${demoBackendUrl}/v1` },
    { name: 'demo-embed', protocol: 'openai', url: `${demoBackendUrl}/v1` },
    { name: 'demo-infer', protocol: 'kserve-v2', url: demoBackendUrl, units: 'instances' },
    { name: 'demo-predict', protocol: 'tfserving', url: demoBackendUrl, units: 'header', unitHeader: 'x-units' },
  ];
  for (const m of models) {
    await addModel(deps, { name: m.name, units: m.units, unitHeader: m.unitHeader, backends: [{ protocol: m.protocol, url: m.url }] });
  }
  const { key, secret } = await createKey(deps, customer.id, { name: 'demo key' });
  return { customerId: customer.id, keyId: key.id, secret, models: models.map((m) => m.name) };
}
