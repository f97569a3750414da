import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

/** The `tollgate` command as installed (`npx tollgate`). */
export const TOLLGATE_BIN = resolve(import.meta.dirname, '../../bin/tollgate.js');

/** What one CLI run printed, and its exit code (-1 when it was killed or did not start). */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a child process against the SQLite file `db`. */
export function runCli(db: string, ...args: string[]): Promise<CliRun> {
  return new Promise((done) => {
    execFile(process.execPath, [TOLLGATE_BIN, ...args, '--db', db], { timeout: 20_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}
