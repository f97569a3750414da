import type { TestProject } from 'vitest/node';
import { startModelServer } from '../../src/demo/model-server';
import { startFakeStripe } from '../support/fake-stripe/server';
import { startDroppingServer } from '../support/ports';
import { startSlowBackend } from '../support/slow-backend';

/** Runs in Node before the Workers tests: the test model backend they proxy to and a Stripe-compatible server, on 127.0.0.1. */
export default async function setup(project: TestProject) {
  const backend = await startModelServer({ host: '127.0.0.1' });
  project.provide('backendUrl', backend.url);
  const dropping = await startDroppingServer();
  project.provide('deadUrl', dropping.url);
  const slow = await startSlowBackend();
  project.provide('slowBackendUrl', slow.url);
  const hang = await startModelServer({ host: '127.0.0.1' });
  hang.setFault({ kind: 'hang' });
  project.provide('hangBackendUrl', hang.url);
  const stripe = await startFakeStripe();
  project.provide('stripeUrl', stripe.url);
  return async () => {
    await backend.close();
    await stripe.close();
    await slow.close();
    await hang.close();
    await dropping.close();
  };
}
