import { and, eq, gte, lt, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type Database from 'better-sqlite3';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { usageEvents, type NewUsageEvent } from '../schema';
import type { Db } from '../types';

/** Dimensions usage can be grouped by (the time buckets are UTC). */
export type UsageGroup = 'customer' | 'key' | 'model' | 'hour' | 'day' | 'month';

/** Which ledger rows to sum. Times are epoch ms, `to` exclusive. */
export interface UsageFilter {
  customerId?: string;
  keyId?: string;
  model?: string;
  /** `success` (< 400), `error` (≥ 400) or one HTTP status. */
  status?: 'success' | 'error' | number;
  from?: number;
  to?: number;
}

/** One aggregated line of usage. Group columns are present only when grouped by. */
export interface UsageLine {
  customerId?: string;
  keyId?: string;
  model?: string;
  hour?: string;
  day?: string;
  month?: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  predictions: number;
  estimated: number;
}

const day = sql<string>`strftime('%Y-%m-%d', ${usageEvents.startedAt} / 1000, 'unixepoch')`;
const hour = sql<string>`strftime('%Y-%m-%dT%H:00:00Z', ${usageEvents.startedAt} / 1000, 'unixepoch')`;
const month = sql<string>`strftime('%Y-%m', ${usageEvents.startedAt} / 1000, 'unixepoch')`;
const GROUP_COLUMNS = {
  customer: { customerId: usageEvents.customerId },
  key: { keyId: usageEvents.keyId },
  model: { model: usageEvents.model },
  hour: { hour },
  day: { day },
  month: { month },
} as const;
const GROUP_EXPRS: Record<UsageGroup, SQL | SQLiteColumn> = {
  customer: usageEvents.customerId,
  key: usageEvents.keyId,
  model: usageEvents.model,
  hour,
  day,
  month,
};

function statusCondition(status: UsageFilter['status']) {
  if (status === undefined) return undefined;
  if (status === 'success') return lt(usageEvents.status, 400);
  if (status === 'error') return gte(usageEvents.status, 400);
  return eq(usageEvents.status, status);
}
const total = (col: SQLWrapper) => sql<number>`coalesce(sum(${col}), 0)`.mapWith(Number);

/** Sums the ledger by the chosen dimensions. */
export async function sumUsage(db: Db, filter: UsageFilter, groups: UsageGroup[]): Promise<UsageLine[]> {
  const where = and(
    filter.customerId ? eq(usageEvents.customerId, filter.customerId) : undefined,
    filter.keyId ? eq(usageEvents.keyId, filter.keyId) : undefined,
    filter.model ? eq(usageEvents.model, filter.model) : undefined,
    statusCondition(filter.status),
    filter.from !== undefined ? gte(usageEvents.startedAt, filter.from) : undefined,
    filter.to !== undefined ? lt(usageEvents.startedAt, filter.to) : undefined,
  );
  const columns = Object.assign({}, ...groups.map((g) => GROUP_COLUMNS[g]));
  const rows = await db
    .select({
      ...columns,
      requests: sql<number>`count(*)`.mapWith(Number),
      errors: total(sql`${usageEvents.status} >= 400`),
      promptTokens: total(usageEvents.promptTokens),
      completionTokens: total(usageEvents.completionTokens),
      cachedTokens: total(usageEvents.cachedTokens),
      reasoningTokens: total(usageEvents.reasoningTokens),
      predictions: total(usageEvents.predictions),
      estimated: total(usageEvents.estimated),
    })
    .from(usageEvents)
    .where(where)
    .groupBy(...groups.map((g) => GROUP_EXPRS[g]))
    .orderBy(...groups.map((g) => GROUP_EXPRS[g]));
  return rows as UsageLine[];
}

/**
 * A prepared idempotent ledger insert for better-sqlite3 (the Node hot path). Call it inside a
 * transaction; a duplicate id is ignored, so replaying a batch never double-counts. It binds positional
 * values on the raw statement (column names from the drizzle schema): drizzle's per-call placeholder
 * mapping cost as much as the insert itself.
 */
export function prepareUsageInsert(sqlite: Database.Database) {
  const columns = getTableConfig(usageEvents).columns;
  const keys = columns.map((c) => Object.entries(usageEvents).find(([, v]) => v === c)![0] as keyof NewUsageEvent);
  const statement = sqlite.prepare(
    `INSERT INTO usage_events (${columns.map((c) => `"${c.name}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT(id) DO NOTHING`,
  );
  const values: unknown[] = new Array(keys.length);
  return (row: NewUsageEvent) => {
    for (let i = 0; i < keys.length; i++) {
      const v = row[keys[i]];
      values[i] = v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v;
    }
    return statement.run(values);
  };
}
