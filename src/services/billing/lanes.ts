/** Anything sent per customer × meter. */
export interface LaneItem {
  customerId: string;
  meter: string;
}

/**
 * Splits rows into `workers` groups so that every customer × meter pair (a lane) lives in exactly one
 * group: each group sends its rows one call at a time, so Stripe never sees two calls in flight for the
 * same customer and meter. Lanes go to the least-loaded group; row order within a lane is kept.
 */
export function partitionLanes<T extends LaneItem>(rows: readonly T[], workers: number): T[][] {
  const lanes = new Map<string, T[]>();
  for (const row of rows) {
    const key = `${row.customerId}\u0000${row.meter}`;
    const lane = lanes.get(key);
    if (lane) lane.push(row);
    else lanes.set(key, [row]);
  }
  const groups: T[][] = Array.from({ length: Math.max(1, workers) }, () => []);
  const sorted = [...lanes.values()].sort((a, b) => b.length - a.length);
  for (const lane of sorted) {
    let smallest = groups[0];
    for (const g of groups) if (g.length < smallest.length) smallest = g;
    smallest.push(...lane);
  }
  return groups.filter((g) => g.length > 0);
}

/** Consecutive chunks of at most `size` items. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
