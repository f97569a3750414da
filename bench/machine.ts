import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat), or null elsewhere. */
export function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [, ...fields] = line.trim().split(/\s+/);
    const v = fields.map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Machine-wide busy time between two samples, in percent of one core (2 cores busy = 200). */
export function busyPercent(a: ReturnType<typeof machineTicks>, b: ReturnType<typeof machineTicks>): number | null {
  if (!a || !b || b.total === a.total) return null;
  return (100 * cpus().length * (b.busy - a.busy)) / (b.total - a.total);
}

/**
 * Waits (up to `maxMs`) for one second in which the machine, with our servers idle, is nearly idle, so
 * other work on the machine does not land in a measurement. Returns the last busy reading.
 */
export async function waitForQuiet(maxMs: number, thresholdPercent: number): Promise<{ busy: number | null; waitedMs: number }> {
  const began = Date.now();
  for (;;) {
    const a = machineTicks();
    await sleep(1_000);
    const busy = busyPercent(a, machineTicks());
    if (busy === null || busy < thresholdPercent || Date.now() - began >= maxMs) return { busy, waitedMs: Date.now() - began };
  }
}
