import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { ADMIN_SECRET } from './test/shared/admin-token.ts';
import { FAKE_STRIPE_KEY } from './test/support/fake-stripe/key.ts';

const timeouts = { testTimeout: 30_000, hookTimeout: 30_000 };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: ['test/workers/**'],
          pool: 'forks',
          ...timeouts,
        },
      },
      {
        // The Workers build inside workerd: the worker entry with D1 and the customers' Durable Objects.
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            main: './src/entry/worker.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations('./migrations'),
                TOLLGATE_ADMIN_JWT_SECRET: ADMIN_SECRET,
                TOLLGATE_LOG: 'silent',
                BACKEND_TOKEN: 'backend-secret',
                // Wide enough that a test sees a row in the object before the alarm copies it to D1.
                TOLLGATE_LEDGER_COPY_DELAY_MS: '2000',
                STRIPE_SECRET_KEY: FAKE_STRIPE_KEY,
                STRIPE_API_URL: inject('stripeUrl'),
                TOLLGATE_BILLING_SUMMARY_LAG: '0',
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          globalSetup: ['test/workers/backend.setup.ts'],
          setupFiles: ['test/workers/apply-migrations.ts'],
          ...timeouts,
        },
      },
    ],
  },
});
