import type { TestProject } from 'vitest/node';
import { startModelServer } from '../../src/demo/model-server';

declare module 'vitest' {
  export interface ProvidedContext {
    backendUrl: string;
  }
}

/** Runs in Node before the Workers tests: the test model backend they proxy to, on 127.0.0.1. */
export default async function setup(project: TestProject) {
  const backend = await startModelServer({ host: '127.0.0.1' });
  project.provide('backendUrl', backend.url);
  return () => backend.close();
}
