import type { Socket } from 'node:net';
import { newId } from '../../domain/ids';

/**
 * Answers malformed requests Node rejects before the app sees them, with a problem+json body instead of
 * an empty reply: oversized headers (431) and unparsable requests (400).
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const code = tooLarge ? 'headers_too_large' : 'bad_request';
  const requestId = newId('req');
  const body = JSON.stringify({
    type: `urn:tollgate:error:${code}`,
    title: tooLarge ? 'Request headers too large' : 'Bad request',
    status,
    detail: tooLarge ? 'The request headers exceed the configured limit (TOLLGATE_MAX_HEADER_BYTES).' : 'The request could not be parsed.',
    code,
    request_id: requestId,
  });
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/problem+json\r\nx-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}
