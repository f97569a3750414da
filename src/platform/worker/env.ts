import type { CustomerGate } from './customer-gate';

/** The Worker's bindings (wrangler.toml) plus `[vars]` and secrets, all plain strings. */
export interface WorkerEnv {
  DB: D1Database;
  CUSTOMERS: DurableObjectNamespace<CustomerGate>;
  [name: string]: unknown;
}

/** The string settings among the bindings (vars and secrets), for config parsing and backend credentials. */
export function stringVars(env: WorkerEnv): Record<string, string | undefined> {
  const vars: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') vars[name] = value;
  return vars;
}
