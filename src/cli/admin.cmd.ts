import { parseConfig } from '../config';
import { ServiceError } from '../domain/errors';
import { ADMIN_SCOPES, adminAuthSettings, mintAdminToken } from '../services/admin-token.service';
import { parseDuration, UsageError, type Noun } from './args';

const TOKEN = 'admin token';

/** `tollgate admin token`: mints an HS256 admin API token with the shared secret, for local use and scripts. */
export const adminCommand: Noun = {
  name: 'admin',
  summary: 'Admin API helpers.',
  verbs: [
    {
      name: TOKEN,
      summary: 'Mint an admin API token signed with $TOLLGATE_ADMIN_JWT_SECRET; prints only the token.',
      usesStore: false,
      options: {
        scope: {
          type: 'string',
          multiple: true,
          value: 'scope',
          help: `scopes, repeatable or comma-separated: ${ADMIN_SCOPES.join(', ')} (default: all)`,
        },
        ttl: { type: 'string', value: 'duration', help: 'how long the token is valid: 15m, 1h (default), 8h' },
        sub: { type: 'string', value: 'subject', help: 'who the audit log names (default: cli:<os user>)' },
      },
      async run({ args, audit }) {
        const settings = adminAuthSettings(parseConfig(process.env));
        if (settings?.mode !== 'secret') {
          throw new ServiceError('admin_disabled', 'admin token needs TOLLGATE_ADMIN_JWT_SECRET (the secret the gateway verifies with); with an identity provider, get tokens from it.');
        }
        const scopes = args.list('scope').flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
        const unknown = scopes.find((s) => !(ADMIN_SCOPES as readonly string[]).includes(s));
        if (unknown) throw new UsageError(`unknown scope '${unknown}'; scopes: ${ADMIN_SCOPES.join(', ')}`, TOKEN);
        const ttl = args.string('ttl') ?? '1h';
        const ttlMs = parseDuration(ttl);
        if (!ttlMs || ttlMs < 1000) throw new UsageError(`--ttl must be a duration like 15m, 1h or 8h; got '${ttl}'`, TOKEN);
        const subject = args.string('sub') ?? audit.actor;
        const granted = scopes.length ? [...new Set(scopes)] : [...ADMIN_SCOPES];
        const { token, expiresAt } = await mintAdminToken(settings, { subject, scopes: granted, ttlSeconds: Math.floor(ttlMs / 1000) });
        return { json: { token, subject, scopes: granted, expires_at: new Date(expiresAt).toISOString() }, text: token };
      },
    },
  ],
};
