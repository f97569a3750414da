import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { createServer, type Server } from 'node:http';

/** A signing key an identity provider would hold: its private half and its published JWK. */
export interface ProviderKey {
  kid: string;
  alg: 'EdDSA' | 'ES256' | 'RS256';
  privateKey: CryptoKey;
  jwk: JWK;
}

/** Generates a key pair for `alg` and its public JWK with `kid`. */
export async function providerKey(alg: ProviderKey['alg'], kid: string): Promise<ProviderKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** Signs a JWT with a provider key (header carries its kid). */
export function signWith(key: ProviderKey, payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);
}

/** A local identity provider's JWKS endpoint on 127.0.0.1 whose published keys can be rotated. */
export interface JwksServer {
  url: string;
  /** How many times the key set was fetched. */
  fetches: number;
  /** Publishes exactly these keys from now on. */
  publish(keys: ProviderKey[]): void;
  close(): Promise<void>;
}

/** Starts a JWKS server publishing `keys` at `/.well-known/jwks.json`. */
export async function startJwksServer(keys: ProviderKey[]): Promise<JwksServer> {
  let published = keys;
  const state = { fetches: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    state.fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    publish(next) {
      published = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
