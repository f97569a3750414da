import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { BillingMeter } from '../../domain/billing/meters';
import { billingOutbox, billingState } from '../schema';
import type { Db } from '../types';

/** The billing_state row holding the last ledger rowid aggregated into the outbox. */
export const CLAIM_CURSOR = 'claim_cursor';
/** The billing_state row naming the claimer whose commit moved the cursor last (a random token). */
const CLAIM_TOKEN = 'claim_token';

/** One outbox amount to claim: a customer × meter × bucket and its value. */
export interface ClaimAmount {
  customerId: string;
  meter: BillingMeter;
  bucketStart: number;
  bucketEnd: number;
  value: number;
}

/**
 * An integer literal for SQL arithmetic: better-sqlite3 binds JS numbers as REAL, which would turn
 * `started_at / :size` into a fractional division. Only for sizes computed by the code, never input.
 */
export function intLiteral(n: number): SQL {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return sql.raw(String(n));
}

const cursorValue = sql`(select ${billingState.value} from ${billingState} where ${billingState.name} = ${CLAIM_CURSOR})`;

/** Creates the claim cursor (at 0) and token rows on first use. */
export async function ensureClaimState(db: Db, now: number): Promise<void> {
  await db
    .insert(billingState)
    .values([
      { name: CLAIM_CURSOR, value: 0, updatedAt: now },
      { name: CLAIM_TOKEN, value: 0, updatedAt: now },
    ])
    .onConflictDoNothing();
}

/** The claim cursor: the last ledger rowid aggregated into the outbox (0 before the first claim). */
export async function readClaimCursor(db: Db): Promise<number> {
  const [row] = await db.select({ value: billingState.value }).from(billingState).where(eq(billingState.name, CLAIM_CURSOR));
  return row?.value ?? 0;
}

/**
 * The rowid ending the next slice of at most `limit` ledger rows after `cursor`, or null when there are none.
 * Ledger rows are only inserted and SQLite serialises writers, so rowids grow in commit order: a reader
 * never sees a row appear below a rowid it has already passed. (Row ids `req_…` are ordered by request
 * start, not commit, so they cannot serve as the cursor.)
 */
export async function nextSliceEnd(db: Db, cursor: number, limit: number): Promise<number | null> {
  const rows = await db.all<{ r: number }>(sql`select rowid as r from usage_events where rowid > ${cursor} order by rowid limit 1 offset ${limit - 1}`);
  if (rows[0]) return rows[0].r;
  const [max] = await db.all<{ r: number | null }>(sql`select max(rowid) as r from usage_events`);
  return max?.r != null && max.r > cursor ? max.r : null;
}

/** Ledger rows with cursor < rowid ≤ end (every call, billable or not). */
export async function countSlice(db: Db, cursor: number, end: number): Promise<number> {
  const [row] = await db.all<{ n: number }>(sql`select count(*) as n from usage_events where rowid > ${cursor} and rowid <= ${end}`);
  return row?.n ?? 0;
}

/**
 * What each meter counts in a ledger row. A call is billable when it succeeded (status < 400) or was cut
 * short and recorded with what was delivered (`estimated`), the rule the ledger uses to keep a row's units.
 */
const METER_SQL: Record<BillingMeter, SQL> = {
  requests: sql`sum(case when status < 400 or estimated = 1 then 1 else 0 end)`,
  input_tokens: sql`sum(prompt_tokens)`,
  output_tokens: sql`sum(completion_tokens)`,
  predictions: sql`sum(predictions)`,
};

const sameBucket = (a: { customerId: string; meter: string; bucketStart: number }) =>
  and(eq(billingOutbox.customerId, a.customerId), eq(billingOutbox.meter, a.meter as BillingMeter), eq(billingOutbox.bucketStart, a.bucketStart));

/**
 * Statement: inserts an outbox row with the bucket's next seq (its identifier built from it), when `when`
 * holds. Column values are listed by name and emitted in the table's order, as INSERT … SELECT needs.
 */
export function insertNextSeqStatement(db: Db, a: ClaimAmount, kind: 'usage' | 'repair', now: number, when: SQL) {
  const seq = sql`n.seq`;
  const values: Record<keyof typeof billingOutbox.$inferSelect, SQL> = {
    identifier: sql`'tg_' || ${a.customerId} || '_' || ${a.meter} || '_' || ${String(Math.floor(a.bucketStart / 1000))} || '_' || n.seq`,
    customerId: sql`${a.customerId}`, meter: sql`${a.meter}`, bucketStart: sql`${a.bucketStart}`, bucketEnd: sql`${a.bucketEnd}`,
    seq, kind: sql`${kind}`, value: sql`${a.value}`, status: sql`'pending'`, attempts: sql`0`, firstAttemptAt: sql`null`,
    eventAt: sql`null`, channel: sql`null`, nextAttemptAt: sql`null`, lastError: sql`null`, deliveredAt: sql`null`,
    createdAt: sql`${now}`, updatedAt: sql`${now}`,
  };
  const columns = Object.keys(getTableColumns(billingOutbox)) as Array<keyof typeof values>;
  return db.insert(billingOutbox).select(sql`
    select ${sql.join(columns.map((c) => values[c]), sql`, `)}
    from (select coalesce(max(${billingOutbox.seq}) + 1, 0) as seq from ${billingOutbox} where ${sameBucket(a)}) n
    where ${when}`);
}

/** Whether the last claim commit was the one made with `token`. */
export async function claimedBy(db: Db, token: number): Promise<boolean> {
  const [row] = await db.select({ value: billingState.value }).from(billingState).where(eq(billingState.name, CLAIM_TOKEN));
  return row?.value === token;
}

/**
 * The statements that claim a slice, set-based (three statements whatever the slice holds), all
 * conditional on the cursor still being `cursor`, so a concurrent claimer that got there first turns them
 * into no-ops: each customer × meter × bucket with a positive total is added to its bucket's never-attempted
 * row, or else becomes a new row with the next seq (so a bucket costs one meter event however many runs
 * claim it before it is sent); then `token` is recorded and the cursor moves to `end`.
 */
export function claimStatements(db: Db, cursor: number, end: number, meters: BillingMeter[], bucketMs: number, now: number, token: number) {
  const cursorHolds = sql`${cursorValue} = ${cursor}`;
  const size = intLiteral(bucketMs);
  const totals = sql.join(meters.map((m) => sql`${METER_SQL[m]} as ${sql.identifier(m)}`), sql`, `);
  const pick = sql.join(meters.map((m) => sql`when ${m} then a.${sql.identifier(m)}`), sql` `);
  const meterList = sql.join(meters.map((m, i) => (i === 0 ? sql`select ${m} as meter` : sql`select ${m}`)), sql` union all `);
  // The bucket's never-attempted usage row if there is one (the insert then merges into it), else the next seq.
  const bucket = sql`o.customer_id = x.customer_id and o.meter = x.meter and o.bucket_start = x.bucket`;
  const seq = sql`coalesce(
    (select min(o.seq) from ${billingOutbox} o where ${bucket} and o.kind = 'usage' and o.status = 'pending' and o.first_attempt_at is null),
    (select max(o.seq) + 1 from ${billingOutbox} o where ${bucket}), 0)`;
  const values: Record<keyof typeof billingOutbox.$inferSelect, SQL> = {
    identifier: sql`'tg_' || x.customer_id || '_' || x.meter || '_' || (x.bucket / 1000) || '_' || ${seq}`,
    customerId: sql`x.customer_id`, meter: sql`x.meter`, bucketStart: sql`x.bucket`, bucketEnd: sql`x.bucket + ${size}`,
    seq, kind: sql`'usage'`, value: sql`x.value`, status: sql`'pending'`, attempts: sql`0`, firstAttemptAt: sql`null`,
    eventAt: sql`null`, channel: sql`null`, nextAttemptAt: sql`null`, lastError: sql`null`, deliveredAt: sql`null`,
    createdAt: sql`${now}`, updatedAt: sql`${now}`,
  };
  const columns = Object.keys(getTableColumns(billingOutbox)) as Array<keyof typeof values>;
  const insert = db.insert(billingOutbox).select(sql`
    select ${sql.join(columns.map((c) => values[c]), sql`, `)}
    from (select a.customer_id, m.meter, a.bucket, case m.meter ${pick} end as value
          from (select customer_id, (started_at / ${size}) * ${size} as bucket, ${totals}
                from usage_events where rowid > ${cursor} and rowid <= ${end} group by 1, 2) a
          cross join (${meterList}) m) x
    where x.value > 0 and ${cursorHolds}`)
    // The identifier encodes customer, meter, bucket and seq, so a conflict is exactly the unsent row chosen above.
    .onConflictDoUpdate({ target: billingOutbox.identifier, set: { value: sql`${billingOutbox.value} + excluded.value`, updatedAt: now } });
  return [
    insert,
    db.update(billingState).set({ value: token, updatedAt: now }).where(and(eq(billingState.name, CLAIM_TOKEN), cursorHolds)),
    db.update(billingState).set({ value: end, updatedAt: now }).where(and(eq(billingState.name, CLAIM_CURSOR), eq(billingState.value, cursor))),
  ];
}
