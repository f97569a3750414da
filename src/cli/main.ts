import { userInfo } from 'node:os';
import { ServiceError } from '../domain/errors';
import { adminCommand } from './admin.cmd';
import { alertsNoun, webhooksNoun } from './alerts.cmd';
import { parseCommandArgs, UsageError, type Command, type Noun } from './args';
import { billingNoun } from './billing.cmd';
import { creditsNoun } from './credits.cmd';
import { customersNoun } from './customers.cmd';
import { commandHelp, nounHelp, topHelp } from './help';
import { keysNoun } from './keys.cmd';
import { migrateCommand } from './migrate.cmd';
import { modelsNoun } from './models.cmd';
import { printError, print } from './output';
import { plansNoun } from './plans.cmd';
import { serveCommand } from './serve.cmd';
import { openCliStore, resolveDbPath, type CliStore } from './store';
import { usageCommand } from './usage.cmd';

const ENTRIES: Array<Noun | Command> = [serveCommand, migrateCommand, customersNoun, plansNoun, modelsNoun, keysNoun, usageCommand, adminCommand, creditsNoun, alertsNoun, webhooksNoun, billingNoun];

/** The audit log's actor for CLI changes: the OS user running the command. */
function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER ?? process.env.USERNAME ?? 'unknown'}`;
  }
}

const isHelp = (arg: string) => arg === '--help' || arg === '-h';
/** The arguments before a `--` terminator, where options live. */
const optionPart = (argv: string[]) => (argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv);

/** Options given before the command (`tollgate --db x keys list`) are moved after it, where the verb parses them. */
function splitLeadingOptions(argv: string[]): { leading: string[]; rest: string[] } {
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-')) {
    const arg = argv[i];
    if (arg === '--db') i += 2;
    else if (arg === '--json' || arg.startsWith('--db=') || isHelp(arg)) i += 1;
    else throw new UsageError(`unknown option '${arg}' before the command`);
  }
  return { leading: argv.slice(0, i), rest: argv.slice(i) };
}

/** Resolves the command and its own arguments, or prints help and returns the exit code. */
function route(argv: string[]): { command: Command; args: string[] } | number {
  const { leading, rest } = splitLeadingOptions(argv);
  const wantsHelp = leading.some(isHelp);
  const [name, ...afterName] = rest;
  if (name === undefined || name === 'help') {
    (wantsHelp || name === 'help' ? process.stdout : process.stderr).write(topHelp(ENTRIES));
    return wantsHelp || name === 'help' ? 0 : 2;
  }
  const entry = ENTRIES.find((e) => e.name === name);
  if (!entry) throw new UsageError(`unknown command '${name}'; commands: ${ENTRIES.map((e) => e.name).join(', ')}`);
  if (!('verbs' in entry)) return { command: entry, args: [...afterName, ...leading] };
  const [verb, ...args] = afterName;
  if (verb === undefined || verb.startsWith('-')) {
    if (wantsHelp || (verb !== undefined && isHelp(verb))) {
      process.stdout.write(nounHelp(entry));
      return 0;
    }
    throw new UsageError(`'${name}' needs a verb: ${entry.verbs.map((v) => v.name.split(' ')[1]).join(', ')}`, name);
  }
  const command = entry.verbs.find((v) => v.name === `${name} ${verb}`);
  if (!command) throw new UsageError(`unknown verb '${verb}' for '${name}'; verbs: ${entry.verbs.map((v) => v.name.split(' ')[1]).join(', ')}`, name);
  return { command, args: [...args, ...leading] };
}

/** Runs one CLI invocation and returns its exit code: 0 done, 1 refused by a service, 2 bad usage. */
export async function runCli(argv: string[]): Promise<number> {
  const json = optionPart(argv).includes('--json');
  let store: CliStore | null = null;
  try {
    const routed = route(argv);
    if (typeof routed === 'number') return routed;
    const { command, args: argList } = routed;
    if (optionPart(argList).some(isHelp)) {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    const args = parseCommandArgs(command, argList);
    const dbPath = resolveDbPath(args.string('db'));
    const output = await command.run({
      args,
      dbPath,
      admin: () => (store ??= openCliStore(dbPath)).deps,
      audit: { actor: cliActor(), requestId: null },
    });
    if (output) print(output, json);
    return output?.exitCode ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      const hint = `run 'tollgate ${error.command ? `${error.command} ` : ''}--help' for usage`;
      printError({ code: 'usage_error', message: error.message }, json, hint);
      return 2;
    }
    if (error instanceof ServiceError) {
      printError(error, json);
      return 1;
    }
    printError({ code: 'internal_error', message: (error as Error)?.message ?? String(error) }, json);
    return 1;
  } finally {
    (store as CliStore | null)?.close();
  }
}

process.exitCode = await runCli(process.argv.slice(2));
