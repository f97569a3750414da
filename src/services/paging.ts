import type { Page, PageKey } from '../db/repos/paging';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { ServiceError } from '../domain/errors';

/** What a caller asks of a list: where to continue and how many. */
export interface PageRequest {
  cursor?: string;
  limit?: number;
}

/** One page of a list and the cursor of the next one (null on the last page). */
export interface PageResult<T> {
  items: T[];
  nextCursor: string | null;
}

/** Default and largest page sizes of every admin list. */
export const PAGE_LIMITS = { default: 50, max: 200 } as const;

/** The sort key to continue after and the page size, checked; `keyLength` is the sort key's column count. */
export function pageParams(request: PageRequest, keyLength: number): { after: PageKey | undefined; limit: number } {
  const limit = request.limit ?? PAGE_LIMITS.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMITS.max) {
    throw new ServiceError('invalid_request', `limit must be a whole number from 1 to ${PAGE_LIMITS.max}.`, 'limit');
  }
  return { after: decodeCursor(request.cursor, keyLength), limit };
}

/** A repository page as a service result, mapping each item. */
export function pageResult<R, T>(page: Page<R>, map: (row: R) => T): PageResult<T> {
  return { items: page.items.map(map), nextCursor: page.next ? encodeCursor(page.next) : null };
}
