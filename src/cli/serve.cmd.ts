import type { Command } from './args';

/** `tollgate serve`: the same start as `npm start`, with flags that override the environment. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the gateway as `npm start` does; settings come from the environment, these flags override.',
  usesStore: false,
  options: {
    port: { type: 'string', value: 'n', help: 'port to listen on (default: $PORT, else 8787)' },
    host: { type: 'string', value: 'address', help: 'address to bind (default: $HOST, else 0.0.0.0)' },
  },
  async run({ args, dbPath }) {
    // Loaded here so the admin verbs do not pay for the HTTP stack at start-up.
    const { runServer } = await import('../entry/node');
    const env: Record<string, string | undefined> = { ...process.env, TOLLGATE_DB: dbPath };
    const port = args.string('port');
    const host = args.string('host');
    if (port !== undefined) env.PORT = port;
    if (host !== undefined) env.HOST = host;
    await runServer(env);
  },
};
