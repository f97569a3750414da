import type { WorkerEnv } from './env';

/** JSON log lines to the Workers console (Workers Logs / `wrangler tail`); `TOLLGATE_LOG=silent` keeps info quiet. */
export function workerLog(env: WorkerEnv) {
  const quiet = env.TOLLGATE_LOG === 'silent';
  return (level: 'info' | 'error', message: string, fields?: Record<string, unknown>): void => {
    if (quiet && level === 'info') return;
    const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
    if (level === 'error') console.error(line);
    else console.log(line);
  };
}
