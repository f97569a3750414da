import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config';
import { ServiceError } from '../domain/errors';
import { newId } from '../domain/ids';

/** Every admin scope; each admin route demands one. */
export const ADMIN_SCOPES = ['admin:read', 'keys:write', 'customers:write', 'plans:write', 'models:write', 'billing:run', 'audit:read'] as const;

/** One admin scope. */
export type AdminScope = (typeof ADMIN_SCOPES)[number];

/** Who a verified admin token speaks for and what it may do. */
export interface AdminPrincipal {
  /** The token's `sub`: the audit log's actor. */
  subject: string;
  scopes: ReadonlySet<string>;
}

/** Issuer of tokens minted with the shared secret when TOLLGATE_ADMIN_ISSUER names none. */
export const DEFAULT_ADMIN_ISSUER = 'tollgate';
/** Audience of tokens minted with the shared secret when TOLLGATE_ADMIN_AUDIENCE names none. */
export const DEFAULT_ADMIN_AUDIENCE = 'tollgate-admin';

/** How admin tokens are checked: one shared HS256 secret, or an identity provider's JWKS. */
export type AdminAuthSettings =
  | { mode: 'secret'; secret: string; issuer: string; audience: string }
  | { mode: 'jwks'; jwksUrl: string; issuer: string; audience: string; cooldownMs: number };

/** The admin auth mode the configuration asks for; null means the admin API is off. */
export function adminAuthSettings(config: Config): AdminAuthSettings | null {
  const issuer = config.TOLLGATE_ADMIN_ISSUER;
  const audience = config.TOLLGATE_ADMIN_AUDIENCE;
  if (config.TOLLGATE_ADMIN_JWT_SECRET) {
    return { mode: 'secret', secret: config.TOLLGATE_ADMIN_JWT_SECRET, issuer: issuer ?? DEFAULT_ADMIN_ISSUER, audience: audience ?? DEFAULT_ADMIN_AUDIENCE };
  }
  if (config.TOLLGATE_ADMIN_JWKS_URL && issuer && audience) {
    return { mode: 'jwks', jwksUrl: config.TOLLGATE_ADMIN_JWKS_URL, issuer, audience, cooldownMs: config.TOLLGATE_ADMIN_JWKS_COOLDOWN_MS };
  }
  return null;
}

/** Algorithms pinned per mode, so a public key can never be used as an HMAC secret (and never `none`). */
const ALGORITHMS = { secret: ['HS256'], jwks: ['EdDSA', 'ES256', 'RS256'] } as const;
/** Clock skew tolerated on `exp` and `nbf`. */
const CLOCK_TOLERANCE_S = 30;

/** Verifies admin bearer tokens. */
export interface AdminTokenVerifier {
  readonly mode: AdminAuthSettings['mode'];
  /** The principal of a valid token, or `unauthorized` saying what is wrong with it. */
  verify(token: string): Promise<AdminPrincipal>;
}

/** A verifier for the settings; the JWKS is fetched on first use, cached, and refetched for unknown key ids. */
export function createAdminTokenVerifier(settings: AdminAuthSettings, now: () => number = Date.now): AdminTokenVerifier {
  const key: Uint8Array | JWTVerifyGetKey =
    settings.mode === 'secret'
      ? new TextEncoder().encode(settings.secret)
      : createRemoteJWKSet(new URL(settings.jwksUrl), { cooldownDuration: settings.cooldownMs, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 });
  const options = {
    algorithms: [...ALGORITHMS[settings.mode]],
    issuer: settings.issuer,
    audience: settings.audience,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: CLOCK_TOLERANCE_S,
  };
  return {
    mode: settings.mode,
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key as Uint8Array, { ...options, currentDate: new Date(now()) }));
      } catch (error) {
        throw new ServiceError('unauthorized', describeJoseError(error));
      }
      return { subject: String(payload.sub), scopes: scopesOf(payload) };
    },
  };
}

/** Scopes from OAuth's space-separated `scope`, or `scp` (a string or a list, as some identity providers send). */
function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const raw = payload.scope ?? payload.scp;
  const list = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(/\s+/) : [];
  return new Set(list.filter(Boolean));
}

/** A caller-facing reason a token was refused; never echoes the token. */
function describeJoseError(error: unknown): string {
  const { code, claim } = (error ?? {}) as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'The admin token has expired.';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claim === 'nbf' || claim === 'iat' ? 'The admin token is not valid yet.' : `The admin token's "${claim}" claim is missing or not accepted.`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return "The admin token's signing algorithm is not accepted.";
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return "The admin token's signature is invalid.";
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return "No key of the identity provider's key set matches the admin token.";
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return "The identity provider's key set could not be fetched.";
    default:
      return 'The admin token is malformed.';
  }
}

/** Mints an HS256 admin token with the shared secret (`tollgate admin token`, tests). */
export async function mintAdminToken(
  settings: Extract<AdminAuthSettings, { mode: 'secret' }>,
  claims: { subject: string; scopes: readonly string[]; ttlSeconds: number; now?: number },
): Promise<{ token: string; expiresAt: number }> {
  const issuedAt = Math.floor((claims.now ?? Date.now()) / 1000);
  const expiresAt = issuedAt + claims.ttlSeconds;
  const token = await new SignJWT({ scope: claims.scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.subject)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(newId('jti'))
    .sign(new TextEncoder().encode(settings.secret));
  return { token, expiresAt: expiresAt * 1000 };
}
