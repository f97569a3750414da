import { applyD1Migrations, env } from 'cloudflare:test';

// The same migrations/ that `wrangler d1 migrations apply` uses, applied to the test D1 database.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
