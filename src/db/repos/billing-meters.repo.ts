import { asc } from 'drizzle-orm';
import { billingMeters, type BillingMeterRow } from '../schema';
import type { Db } from '../types';

/** The meters set up for billing, by meter name. */
export async function listBillingMeters(db: Db): Promise<BillingMeterRow[]> {
  return db.select().from(billingMeters).orderBy(asc(billingMeters.meter));
}

/** Records (or re-points) the Stripe meter a Tollgate meter reports to. */
export async function upsertBillingMeter(db: Db, row: BillingMeterRow): Promise<void> {
  await db
    .insert(billingMeters)
    .values(row)
    .onConflictDoUpdate({ target: billingMeters.meter, set: { eventName: row.eventName, stripeMeterId: row.stripeMeterId, updatedAt: row.updatedAt } });
}
