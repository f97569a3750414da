/** What a verb prints: `json` with `--json`, else `text` (tables and fields). */
export interface Output {
  json: unknown;
  text: string;
  /** Exit code when the verb printed a result yet must fail (e.g. reconcile found drift); default 0. */
  exitCode?: number;
}

type Cell = string | number | boolean | null | undefined;

/** An epoch-ms time as ISO, or `-` when absent. */
export function iso(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}

function cell(value: Cell): string {
  return value === null || value === undefined || value === '' ? '-' : String(value);
}

/** Plain aligned columns under an upper-case header; `(none)` when there are no rows. */
export function table(headers: string[], rows: Cell[][]): string {
  if (rows.length === 0) return '(none)';
  const lines = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

/** One record as `label: value` lines with the values aligned. */
export function fields(pairs: Array<[string, Cell]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)} ${cell(value)}`).join('\n');
}

/** Prints a verb's result to stdout in the chosen form. */
export function print(output: Output, json: boolean): void {
  process.stdout.write(`${json ? JSON.stringify(output.json, null, 2) : output.text}\n`);
}

/** Prints an error to stderr: `error: <message>`, or `{"error":{code,message,param}}` with --json. */
export function printError(error: { code: string; message: string; param?: string | null }, json: boolean, hint?: string): void {
  const text = json
    ? JSON.stringify({ error: { code: error.code, message: error.message, param: error.param ?? null } })
    : `error: ${error.message}${hint ? `\n${hint}` : ''}`;
  process.stderr.write(`${text}\n`);
}
