import type { Socket } from 'node:net';

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
  const body = JSON.stringify({
    type: `urn:tollgate:error:${tooLarge ? 'headers_too_large' : 'bad_request'}`,
    title: tooLarge ? 'Request headers too large' : 'Bad request',
    status,
    detail: tooLarge ? 'The request headers exceed the configured limit (TOLLGATE_MAX_HEADER_BYTES).' : 'The request could not be parsed.',
  });
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
