import { parseConfig } from '../src/config';
import { startGateway } from '../src/entry/node';
import { runChild } from './child';

/**
 * The real gateway, as `npm start` runs it, on the database the parent seeded. The parent sets
 * TOLLGATE_DB and TOLLGATE_DURABILITY; the demo backend and info logs are off.
 */
await runChild(async () => {
  const env = { ...process.env, TOLLGATE_DEMO: 'off', TOLLGATE_LOG: 'silent', HOST: '127.0.0.1', PORT: '0' };
  const gateway = await startGateway(parseConfig(env), env);
  return { url: gateway.url, stop: () => gateway.stop() };
});
