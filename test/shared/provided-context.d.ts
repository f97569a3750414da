// What the Workers tests' global setup (test/workers/backend.setup.ts) provides to them, by name.
declare module 'vitest' {
  export interface ProvidedContext {
    backendUrl: string;
    deadUrl: string;
    slowBackendUrl: string;
    hangBackendUrl: string;
    stripeUrl: string;
  }
}
export {};
