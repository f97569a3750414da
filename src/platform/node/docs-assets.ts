import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The Swagger UI files `/docs` serves, from the installed `swagger-ui-dist` package (never a CDN). */
const FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);

/** Reads Swagger UI's static files once each and keeps them in memory. */
export function swaggerUiAssets(): (name: string) => Promise<Uint8Array | null> {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Promise<Uint8Array>>();
  return async (name) => {
    if (!FILES.has(name)) return null;
    let bytes = cache.get(name);
    if (!bytes) {
      bytes = readFile(join(dir, name)).then((b) => new Uint8Array(b));
      cache.set(name, bytes);
    }
    return bytes;
  };
}
