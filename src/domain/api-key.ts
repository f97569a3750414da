import { createHash, timingSafeEqual } from 'node:crypto';
import { encodeBase62, randomBase62 } from './base62';
import { crc32 } from './crc32';

/** Random part length: 32 base62 characters ≈ 190 bits, well over the 128 required. */
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = /^tg_(live|test)_[0-9A-Za-z]{38}$/;

export type KeyEnvironment = 'live' | 'test';

/** A freshly minted key: the secret is shown once; only `hash` and `displayPrefix` are stored. */
export interface MintedKey {
  secret: string;
  hash: string;
  displayPrefix: string;
  environment: KeyEnvironment;
}

/** Mints `tg_<env>_<32 random base62><6-char base62 CRC32 of everything before it>`. */
export function mintKey(environment: KeyEnvironment): MintedKey {
  const body = `tg_${environment}_${randomBase62(RANDOM_LENGTH)}`;
  const secret = body + encodeBase62(crc32(body), CHECKSUM_LENGTH);
  return { secret, hash: hashKey(secret), displayPrefix: secret.slice(0, 12), environment };
}

/**
 * True when the string has the key shape and its checksum matches. Cheap, and runs before any
 * lookup, so typos and random garbage never reach the store.
 */
export function isWellFormedKey(candidate: string): boolean {
  if (!KEY_PATTERN.test(candidate)) return false;
  const body = candidate.slice(0, -CHECKSUM_LENGTH);
  return encodeBase62(crc32(body), CHECKSUM_LENGTH) === candidate.slice(-CHECKSUM_LENGTH);
}

/** Hex SHA-256 of the secret: what the store holds and looks up by. */
export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time equality of two hex hashes of equal length. */
export function hashesEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
