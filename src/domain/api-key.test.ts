import { describe, expect, test } from 'vitest';
import { hashKey, hashesEqual, isWellFormedKey, mintKey } from './api-key';
import { BASE62, encodeBase62 } from './base62';
import { crc32 } from './crc32';

/** Replaces the character at `index` with a different base62 character. */
const changeAt = (key: string, index: number) => {
  const at = index < 0 ? key.length + index : index;
  const next = key[at] === 'A' ? 'B' : 'A';
  return key.slice(0, at) + next + key.slice(at + 1);
};

describe('mintKey', () => {
  test.each(['live', 'test'] as const)('mints tg_%s_ + 32 random base62 + a 6-char checksum', (env) => {
    const minted = mintKey(env);
    expect(minted.secret).toMatch(new RegExp(`^tg_${env}_[0-9A-Za-z]{38}$`));
    expect(minted.environment).toBe(env);
    const body = minted.secret.slice(0, -6);
    expect(minted.secret.slice(-6)).toBe(encodeBase62(crc32(body), 6));
  });

  test('the random part carries at least 128 bits', () => {
    const randomChars = mintKey('live').secret.length - 'tg_live_'.length - 6;
    expect(randomChars).toBe(32);
    expect(randomChars * Math.log2(62)).toBeGreaterThanOrEqual(128);
  });

  test('keys do not repeat and use the whole base62 alphabet', () => {
    const secrets = Array.from({ length: 500 }, () => mintKey('live').secret);
    expect(new Set(secrets).size).toBe(secrets.length);
    const used = new Set(secrets.flatMap((s) => [...s.slice(8, 40)]));
    expect(used.size).toBe(BASE62.length);
  });

  test('the stored hash is the hex SHA-256 of the secret, never the secret', () => {
    const minted = mintKey('live');
    expect(minted.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(minted.hash).toBe(hashKey(minted.secret));
    // SHA-256 of "abc", a published test vector.
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(minted.hash).not.toContain(minted.secret.slice(8, 20));
  });

  test('the display prefix is the first 12 characters: environment plus 4 random ones', () => {
    const minted = mintKey('test');
    expect(minted.displayPrefix).toBe(minted.secret.slice(0, 12));
    expect(minted.displayPrefix).toMatch(/^tg_test_[0-9A-Za-z]{4}$/);
  });
});

describe('isWellFormedKey', () => {
  test('accepts freshly minted keys', () => {
    for (let i = 0; i < 200; i++) expect(isWellFormedKey(mintKey(i % 2 ? 'live' : 'test').secret)).toBe(true);
  });

  test('refuses a key whose checksum does not match', () => {
    const { secret } = mintKey('live');
    expect(isWellFormedKey(changeAt(secret, -1))).toBe(false); // the checksum itself
    expect(isWellFormedKey(changeAt(secret, 10))).toBe(false); // a random character
    expect(isWellFormedKey(secret.replace('tg_live_', 'tg_test_'))).toBe(false); // the environment is covered too
  });

  test('refuses the wrong prefix', () => {
    const { secret } = mintKey('live');
    const random = secret.slice('tg_live_'.length);
    for (const prefix of ['sk_live_', 'tg_prod_', 'TG_live_', 'tglive__', 'tg-live-']) {
      const body = `${prefix}${random.slice(0, 32)}`;
      expect(isWellFormedKey(body + encodeBase62(crc32(body), 6)), prefix).toBe(false);
    }
  });

  test('refuses the wrong length even with a valid checksum', () => {
    for (const length of [0, 31, 33, 64]) {
      const body = `tg_live_${'a'.repeat(length)}`;
      expect(isWellFormedKey(body + encodeBase62(crc32(body), 6)), String(length)).toBe(false);
    }
    const { secret } = mintKey('live');
    expect(isWellFormedKey(secret.slice(0, -1))).toBe(false);
    expect(isWellFormedKey(`${secret}A`)).toBe(false);
  });

  test('refuses characters outside base62, whitespace and empty strings', () => {
    const { secret } = mintKey('live');
    expect(isWellFormedKey(`${secret.slice(0, 20)}-${secret.slice(21)}`)).toBe(false);
    expect(isWellFormedKey(` ${secret}`)).toBe(false);
    expect(isWellFormedKey(`${secret}\n`)).toBe(false);
    expect(isWellFormedKey('')).toBe(false);
  });
});

describe('hashesEqual', () => {
  test('compares hashes exactly', () => {
    const a = hashKey('one');
    expect(hashesEqual(a, hashKey('one'))).toBe(true);
    expect(hashesEqual(a, hashKey('two'))).toBe(false);
    expect(hashesEqual(a, a.slice(0, -1))).toBe(false);
  });
});
