import { encodeBase62, randomBase62 } from './base62';

/**
 * Time-ordered ids: 8 base62 chars of milliseconds then random characters, with a type prefix.
 * Ordered ids keep B-tree inserts at the right edge, so ledger writes stay flat as the table grows.
 */
export function newId(prefix: string, randomLength = 12): string {
  return `${prefix}_${encodeBase62(Date.now(), 8)}${randomBase62(randomLength)}`;
}
