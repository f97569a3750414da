/**
 * Indices of items whose values sum to exactly `target`, preferring fewer items; null when none do.
 * Used to tell which uncertain outbox rows Stripe holds from its bucket total. Searches at most `maxItems`
 * items (2^maxItems subsets); beyond that the answer is null and the caller parks the rows for reconcile.
 */
export function subsetWithSum(values: readonly number[], target: number, maxItems = 16): number[] | null {
  if (target === 0) return [];
  if (values.length > maxItems) return null;
  let best: number[] | null = null;
  const total = 1 << values.length;
  for (let mask = 1; mask < total; mask++) {
    let sum = 0;
    const picked: number[] = [];
    for (let i = 0; i < values.length; i++) {
      if (mask & (1 << i)) {
        sum += values[i];
        picked.push(i);
      }
    }
    if (sum === target && (best === null || picked.length < best.length)) best = picked;
  }
  return best;
}
