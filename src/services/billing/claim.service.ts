import { runAtomic } from '../../db/atomic';
import { claimedBy, claimStatements, countSlice, ensureClaimState, nextSliceEnd, readClaimCursor } from '../../db/repos/billing-claim.repo';
import type { BillingMeter } from '../../domain/billing/meters';
import { bucketMs } from '../../domain/billing/time';
import type { BillingDeps } from './billing-deps';

/** What one claim pass did. */
export interface ClaimReport {
  slices: number;
  rows: number;
  cursor: number;
}

/**
 * Aggregates unclaimed ledger rows into the outbox, one slice (≤ `sliceRows` rows) per commit: the outbox
 * amounts and the cursor move together or not at all, so a crash at any point loses and doubles nothing.
 * Rows of customers without a Stripe id are claimed too; their outbox rows wait until the customer is linked.
 */
export async function claimUsage(
  deps: BillingDeps,
  meters: BillingMeter[],
  options: { sliceRows?: number; maxSlices?: number; pause?: () => Promise<void>; shouldStop?: () => boolean } = {},
): Promise<ClaimReport> {
  const sliceRows = options.sliceRows ?? 100_000;
  const size = bucketMs(deps.settings.bucket);
  await ensureClaimState(deps.db, deps.now());
  const report: ClaimReport = { slices: 0, rows: 0, cursor: await readClaimCursor(deps.db) };
  while (report.slices < (options.maxSlices ?? Infinity) && !options.shouldStop?.()) {
    const cursor = await readClaimCursor(deps.db);
    const end = await nextSliceEnd(deps.db, cursor, sliceRows);
    if (end === null) {
      report.cursor = cursor;
      break;
    }
    const token = Math.floor(Math.random() * 2 ** 48) + 1;
    await runAtomic(deps.db, claimStatements(deps.db, cursor, end, meters, size, deps.now(), token));
    // Another claimer may have won the race; its commit made ours a no-op, and the loop goes on from its cursor.
    report.cursor = await readClaimCursor(deps.db);
    if (await claimedBy(deps.db, token)) {
      report.slices++;
      report.rows += await countSlice(deps.db, cursor, end);
    }
    await options.pause?.();
  }
  return report;
}
