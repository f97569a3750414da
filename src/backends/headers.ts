const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);
/** Request headers that never reach a backend: credentials, framing, and what the gateway sets itself. */
const DROP_FROM_CLIENT = new Set([
  ...HOP_BY_HOP, 'authorization', 'x-api-key', 'host', 'content-length', 'accept-encoding', 'cookie', 'x-request-id',
  'expect',
  // The backend account is the operator's: a caller must not pick its organisation or project.
  'openai-organization', 'openai-project',
]);
/** Response headers that never reach a client: framing, and the backend's own limits (the gateway's rule). */
const DROP_FROM_BACKEND = new Set([
  ...HOP_BY_HOP, 'content-length', 'content-encoding', 'keep-alive', 'set-cookie',
  // The operator's backend account details are not the caller's business.
  'openai-organization', 'openai-project',
]);

/** Headers for the backend call: the client's, less credentials and hop-by-hop ones, plus the gateway's. */
export function upstreamHeaders(client: Headers, requestId: string, credential: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const connectionListed = listedInConnection(client.get('connection'));
  client.forEach((value, name) => {
    if (!DROP_FROM_CLIENT.has(name) && !connectionListed.has(name)) out[name] = value;
  });
  out['x-request-id'] = requestId;
  out['accept-encoding'] = 'identity';
  if (credential) out.authorization = `Bearer ${credential}`;
  return out;
}

/**
 * Headers for the client: the backend's, less hop-by-hop ones and its `x-ratelimit-*`, plus the request
 * id. A plain object rather than a Headers instance: the Node adapter writes plain objects as they are,
 * while a Headers instance costs a conversion on every response.
 */
export function clientHeaders(upstream: Record<string, string | string[] | undefined>, requestId: string): Record<string, string> {
  const out: Record<string, string> = {};
  const connectionListed = listedInConnection(upstream.connection);
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || DROP_FROM_BACKEND.has(name) || connectionListed.has(name)) continue;
    // The backend's own limits (x-ratelimit-*, and IETF ratelimit*) are not the caller's: the gateway's are.
    if (name.startsWith('x-ratelimit-') || name.startsWith('ratelimit')) continue;
    // Repeated fields fold into one list value (set-cookie, the one that cannot, never passes).
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  out['x-request-id'] = requestId;
  return out;
}

function listedInConnection(value: string | string[] | null | undefined): Set<string> {
  if (!value) return EMPTY;
  const text = Array.isArray(value) ? value.join(',') : value;
  return new Set(text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

const EMPTY = new Set<string>();
