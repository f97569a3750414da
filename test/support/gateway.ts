import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config';
import { startModelServer, type ModelServer } from '../../src/demo/model-server';
import { startGateway, type RunningGateway } from '../../src/entry/node';
import { createCustomer } from '../../src/services/customers.service';
import { createKey, type KeyOptions } from '../../src/services/keys.service';
import { addModel } from '../../src/services/models.service';

/** A gateway on 127.0.0.1 with its own SQLite file in a temp folder, and a test model backend. */
export interface TestGateway {
  url: string;
  dbPath: string;
  dir: string;
  gateway: RunningGateway;
  backend: ModelServer;
  /** Creates a customer and a key (optionally with key options); returns the secret and ids. */
  customerWithKey(options?: KeyOptions & { customer?: string }): Promise<{ secret: string; keyId: string; customerId: string }>;
  stop(): Promise<void>;
}

let counter = 0;

/**
 * Starts a gateway and a model backend. Models `chat` (openai), `infer` (kserve-v2, instances),
 * `tf` (tfserving, header x-units) and `json` (json, one per request) point at the backend.
 */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  const dbPath = join(dir, 'tollgate.db');
  const backend = await startModelServer({ record: true });
  const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', TOLLGATE_DB: dbPath, TOLLGATE_DEMO: 'off', TOLLGATE_LOG: 'silent', ...env });
  const gateway = await startGateway(config, { BACKEND_TOKEN: 'backend-secret', ...env });
  const admin = gateway.deps;
  await addModel(admin, { name: 'chat', backends: [{ protocol: 'openai', url: `${backend.url}/v1`, credentialEnv: 'BACKEND_TOKEN', timeoutMs: 2_000 }] });
  await addModel(admin, { name: 'infer', units: 'instances', backends: [{ protocol: 'kserve-v2', url: backend.url, timeoutMs: 2_000 }] });
  await addModel(admin, { name: 'tf', units: 'header', unitHeader: 'x-units', backends: [{ protocol: 'tfserving', url: backend.url, timeoutMs: 2_000 }] });
  await addModel(admin, { name: 'json', units: 'request', backends: [{ protocol: 'json', url: `${backend.url}/predict`, timeoutMs: 2_000 }] });
  return {
    url: gateway.url,
    dbPath,
    dir,
    gateway,
    backend,
    async customerWithKey(options = {}) {
      const customer = await createCustomer(admin, { name: options.customer ?? `customer-${++counter}` });
      const { key, secret } = await createKey(admin, customer.id, options);
      return { secret, keyId: key.id, customerId: customer.id };
    },
    async stop() {
      await gateway.stop();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
