import { ServiceError } from '../domain/errors';
import { joinChunks } from '../domain/bytes';

const tooLarge = (max: number) => new ServiceError('request_too_large', `The request body exceeds the limit of ${max} bytes.`);

function checkDeclaredLength(req: Request, max: number): void {
  const declared = Number(req.headers.get('content-length') ?? 0);
  if (declared > max) throw tooLarge(max);
}

/**
 * The whole request body, refused with 413 as soon as it passes `max` bytes. With a declared length
 * (checked first) the HTTP parser cannot deliver more, so the fast whole-body read is safe; a chunked
 * body is counted as it arrives and never held past the limit.
 */
export async function readBody(req: Request, max: number): Promise<Uint8Array> {
  checkDeclaredLength(req, max);
  if (req.headers.has('content-length')) return new Uint8Array(await req.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of limitedBody(req, max)) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  return joinChunks(chunks, size);
}

/** The request body as a stream that fails with 413 once it passes `max` bytes: nothing is buffered. */
export function limitedBody(req: Request, max: number): AsyncIterable<Uint8Array> {
  checkDeclaredLength(req, max);
  const source = req.body;
  return (async function* () {
    if (!source) return;
    let size = 0;
    for await (const chunk of source as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > max) throw tooLarge(max);
      yield chunk;
    }
  })();
}

/** Parses a JSON object body or throws a 400 that says what is wrong. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ServiceError('invalid_request', 'The request body is not valid JSON.');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ServiceError('invalid_request', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}
