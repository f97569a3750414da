import { createHash } from 'node:crypto';

/**
 * A short, stable fingerprint of a stored record (the admin API's ETag). Any change to any field gives a
 * new tag, so `If-Match` can refuse an update based on a stale read.
 */
export function versionTag(record: unknown): string {
  return createHash('sha256').update(JSON.stringify(record)).digest('base64url').slice(0, 27);
}
