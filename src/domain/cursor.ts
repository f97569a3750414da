import { ServiceError } from './errors';

type Key = Array<string | number>;

/** An opaque page cursor for a sort key (base64url JSON): clients pass it back, never build it. */
export function encodeCursor(key: Key): string {
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The sort key inside a cursor, or invalid_request naming `cursor` when it was not one of ours. */
export function decodeCursor(cursor: string | undefined, length: number): Key | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const binary = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    const key: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (Array.isArray(key) && key.length === length && key.every((v) => typeof v === 'string' || typeof v === 'number')) return key;
  } catch {
    // fall through to the error below
  }
  throw new ServiceError('invalid_request', 'The cursor is not valid; pass back a next_cursor from a previous page.', 'cursor');
}
