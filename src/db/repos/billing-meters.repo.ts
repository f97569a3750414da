import { asc } from 'drizzle-orm';
import { billingMeters, type BillingMeterRow } from '../schema';
import type { Db } from '../types';

/** The meters set up for billing, by meter name. */
export async function listBillingMeters(db: Db): Promise<BillingMeterRow[]> {
  return db.select().from(billingMeters).orderBy(asc(billingMeters.meter));
}

/** Statement: records (or re-points) the Stripe meter a Tollgate meter reports to. */
export function upsertBillingMeterStatement(db: Db, row: BillingMeterRow) {
  return db
    .insert(billingMeters)
    .values(row)
    .onConflictDoUpdate({ target: billingMeters.meter, set: { eventName: row.eventName, stripeMeterId: row.stripeMeterId, updatedAt: row.updatedAt } });
}

