import { COMMON_OPTIONS, type Command, type Noun, type OptionSpec } from './args';

const optionLabel = (name: string, o: OptionSpec) =>
  `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` <${o.value ?? 'value'}>` : ''}`;

const WIDTH = 100;

/** The verb's full command line (positionals, required options, optional ones in brackets), wrapped under `indent`. */
export function synopsis(command: Command, indent = '', withCommon = false): string {
  const parts = [`tollgate ${command.name}`, ...(command.positionals ?? []).map((p) => `<${p}>`)];
  for (const [name, o] of Object.entries(command.options)) {
    const label = `--${name}${o.type === 'string' ? ` <${o.value ?? 'value'}>` : ''}${o.multiple ? '…' : ''}`;
    parts.push(o.required ? label : `[${label}]`);
  }
  if (withCommon) parts.push('[--json]', '[--db <path>]');
  const lines = [indent];
  for (const part of parts) {
    const last = lines.length - 1;
    if (lines[last].trim() && lines[last].length + part.length + 1 > WIDTH) lines.push(`${indent}    ${part}`);
    else lines[last] += lines[last].trim() ? ` ${part}` : part;
  }
  return lines.join('\n');
}

/** `tollgate <verb> --help`: usage line, what it does, and every option. */
export function commandHelp(command: Command): string {
  const options = Object.entries({ ...command.options, ...COMMON_OPTIONS });
  const labels = options.map(([name, o]) => optionLabel(name, o));
  const width = Math.max(...labels.map((l) => l.length)) + 2;
  const lines = options.map(([, o], i) => `  ${labels[i].padEnd(width)}${o.help}${o.required ? ' (required)' : ''}${o.multiple ? ' (repeatable)' : ''}`);
  return `Usage: ${synopsis(command, '', true).trimStart()}\n\n${command.summary}\n\nOptions:\n${lines.join('\n')}\n`;
}

/** `tollgate <noun> --help`: each verb's full command line and summary. */
export function nounHelp(noun: Noun): string {
  const verbs = noun.verbs.map((v) => `${synopsis(v, '  ')}\n      ${v.summary}`).join('\n');
  return `Usage: tollgate ${noun.name} <verb> [options]\n\n${noun.summary}\n\nVerbs:\n${verbs}\n\nRun 'tollgate ${noun.name} <verb> --help' for what each option means.\n`;
}

/** `tollgate --help`: every command line, then the global options and exit codes. */
export function topHelp(entries: Array<Noun | Command>): string {
  const blocks = entries.map((e) => {
    const commands = 'verbs' in e ? e.verbs : [e];
    return `${e.name} — ${e.summary}\n${commands.map((c) => synopsis(c, '  ')).join('\n')}`;
  });
  return `Usage: tollgate <command> [<verb>] [options]

The Tollgate admin CLI: works directly on the gateway's SQLite file (safe while the gateway runs;
changes apply from its next request).

${blocks.join('\n\n')}

Options every command accepts:
  --json           print JSON instead of tables; errors become {"error":{code,message,param}} on stderr
  --db <path>      SQLite file (default: $TOLLGATE_DB, else ./data/tollgate.db)
  -h, --help       show help for any command or verb

Exit codes: 0 done, 1 refused (not found, conflict, invalid value), 2 bad command line.
`;
}
