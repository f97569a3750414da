import { parseArgs } from 'node:util';
import type { AdminDeps } from '../services/admin';
import type { AuditContext } from '../services/audit.service';
import type { Output } from './output';
import { parseDuration as parseDomainDuration } from '../domain/duration';

/** A mistake in the command line itself (unknown verb or option, missing value): exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` the message points to, e.g. `keys create`. */
    readonly command = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One option of a verb; `value` is the placeholder shown in help (string options only). */
export interface OptionSpec {
  type: 'string' | 'boolean';
  help: string;
  value?: string;
  required?: boolean;
  multiple?: boolean;
  short?: string;
}

/** What a verb gets: its parsed arguments and, opened on first use, the admin services' deps. */
export interface CommandContext {
  args: Args;
  admin(): AdminDeps;
  dbPath: string;
  /** Who the audit log names for changes made by this invocation: `cli:<os user>`. */
  audit: AuditContext;
}

/** One verb (or a noun without verbs, such as `usage`): its help, its options and what it does. */
export interface Command {
  /** Full name after `tollgate`, e.g. `keys create`. */
  name: string;
  summary: string;
  /** Required positional arguments, by the name shown in help. */
  positionals?: string[];
  options: Record<string, OptionSpec>;
  /** Opens no store when false (e.g. `serve`, whose gateway opens its own). */
  usesStore?: boolean;
  run(ctx: CommandContext): Promise<Output | void>;
}

/** A noun with verbs, e.g. `keys`. */
export interface Noun {
  name: string;
  summary: string;
  verbs: Command[];
}

/** Options every verb accepts. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print JSON instead of a table (errors too, on stderr)' },
  db: { type: 'string', value: 'path', help: 'SQLite file (default: $TOLLGATE_DB, else ./data/tollgate.db)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** Parsed arguments with typed, validating getters. */
export interface Args {
  string(name: string): string | undefined;
  required(name: string): string;
  flag(name: string): boolean;
  list(name: string): string[];
  positional(index: number): string;
}

/** Parses a verb's arguments strictly; every failure becomes a UsageError naming the verb. */
export function parseCommandArgs(command: Command, argv: string[]): Args {
  const options = { ...command.options, ...COMMON_OPTIONS };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [name, { type: o.type, multiple: o.multiple ?? false, ...(o.short ? { short: o.short } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    if (!String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) throw error;
    throw new UsageError((error as Error).message, command.name);
  }
  const { values, positionals } = parsed;
  const expected = command.positionals ?? [];
  if (positionals.length < expected.length) {
    throw new UsageError(`missing argument <${expected[positionals.length]}>`, command.name);
  }
  if (positionals.length > expected.length) {
    throw new UsageError(`unexpected argument '${positionals[expected.length]}'`, command.name);
  }
  for (const [name, o] of Object.entries(command.options)) {
    if (o.required && values[name] === undefined) throw new UsageError(`--${name} is required`, command.name);
  }
  const string = (name: string) => {
    const v = values[name];
    return Array.isArray(v) ? (v.at(-1) as string | undefined) : (v as string | undefined);
  };
  return {
    string,
    required(name) {
      const v = string(name);
      if (v === undefined || v.trim() === '') throw new UsageError(`--${name} needs a value`, command.name);
      return v;
    },
    flag: (name) => values[name] === true,
    list(name) {
      const v = values[name];
      return v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string];
    },
    positional: (index) => positionals[index],
  };
}

/** Parses `30d`, `12h`, `15m`, `90s`, `500ms`, `2w` (or `0`) into milliseconds; undefined when not a duration. */
export function parseDuration(value: string): number | undefined {
  return parseDomainDuration(value) ?? undefined;
}

/** Parses an integer option, or undefined when absent. */
export function parseInteger(value: string | undefined, option: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${option} must be a whole number, got '${value}'`, command);
  return Number(value);
}

/** Parses a JSON object option. */
export function parseJsonObject(value: string, option: string, command: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new UsageError(`--${option} is not valid JSON: ${(error as Error).message}`, command);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--${option} must be a JSON object`, command);
  }
  return parsed as Record<string, unknown>;
}
