import { findKeyByHash, type KeyWithCustomer } from '../db/repos/keys.repo';
import type { Db } from '../db/types';
import { hashesEqual, hashKey, isWellFormedKey } from '../domain/api-key';
import { ServiceError } from '../domain/errors';
import type { ChangeWatch } from './change-watch';

/** Who is calling: the verified key and its customer. */
export interface Caller {
  keyId: string;
  customerId: string;
  planId: string | null;
  allowedModels: string[] | null;
  limitOverrides: Record<string, unknown> | null;
  environment: 'live' | 'test';
}

/**
 * Verifies API keys. Known hashes (and unknown ones) are cached in memory, bounded, oldest evicted first;
 * the cache is dropped whenever admin data changes, so revocation is never served from a stale entry.
 */
export class KeyVerifier {
  private readonly cache = new Map<string, KeyWithCustomer | null>();
  /** Bumped whenever the cache is dropped: a lookup that was in flight then is not cached (it may be stale). */
  private generation = 0;

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    changes: ChangeWatch,
    private readonly maxEntries = 100_000,
  ) {
    changes.subscribe(() => {
      this.cache.clear();
      this.generation++;
    });
  }

  /** The caller for `secret`, or a ServiceError saying exactly why not. */
  async verify(secret: string | undefined): Promise<Caller> {
    if (!secret) throw new ServiceError('missing_api_key', 'No API key provided. Send it as "Authorization: Bearer <key>".');
    if (!isWellFormedKey(secret)) throw new ServiceError('invalid_api_key', 'Invalid API key: not a Tollgate key or bad checksum.');
    const hash = hashKey(secret);
    let found = this.cache.get(hash);
    if (found === undefined) {
      const generation = this.generation;
      found = (await findKeyByHash(this.db, hash)) ?? null;
      if (generation === this.generation) {
        if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(hash, found);
      }
    }
    if (!found || !hashesEqual(found.key.hash, hash)) throw new ServiceError('invalid_api_key', 'Invalid API key.');
    const { key } = found;
    const now = this.now();
    if (key.revokedAt !== null && key.revokedAt <= now) throw new ServiceError('key_revoked', 'This API key has been revoked.');
    if (key.expiresAt !== null && key.expiresAt <= now) throw new ServiceError('key_expired', 'This API key has expired.');
    if (found.customerStatus !== 'active') throw new ServiceError('customer_suspended', 'This account is suspended.');
    return {
      keyId: key.id,
      customerId: key.customerId,
      planId: found.planId,
      allowedModels: key.allowedModels ?? null,
      limitOverrides: key.limitOverrides ?? null,
      environment: key.environment,
    };
  }
}
