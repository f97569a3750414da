import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { usageEvents, type NewUsageEvent } from '../../db/schema';

/**
 * The customer's own ledger in its Durable Object's SQLite storage: the `usage_events` table exactly as
 * the migrations make it in D1 (test/workers checks the columns match), plus the copy cursor.
 */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS usage_events (
    id text PRIMARY KEY NOT NULL, key_id text NOT NULL, customer_id text NOT NULL, model text NOT NULL,
    backend_id text, route text NOT NULL, status integer NOT NULL, stream integer NOT NULL,
    prompt_tokens integer DEFAULT 0 NOT NULL, completion_tokens integer DEFAULT 0 NOT NULL,
    cached_tokens integer DEFAULT 0 NOT NULL, reasoning_tokens integer DEFAULT 0 NOT NULL,
    predictions integer DEFAULT 0 NOT NULL, estimated integer DEFAULT false NOT NULL,
    error_code text, usage_raw text, started_at integer NOT NULL, finished_at integer NOT NULL,
    cost_micros integer DEFAULT 0 NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS usage_customer_time_idx ON usage_events (customer_id, started_at)',
  'CREATE INDEX IF NOT EXISTS usage_key_time_idx ON usage_events (key_id, started_at)',
  'CREATE TABLE IF NOT EXISTS ledger_copy (id integer PRIMARY KEY CHECK (id = 1), copied integer NOT NULL)',
  'CREATE TABLE IF NOT EXISTS ledger_spent (id integer PRIMARY KEY CHECK (id = 1), cost_micros integer NOT NULL)',
];

const COLUMNS = getTableConfig(usageEvents).columns;
const FIELDS = COLUMNS.map((c) => Object.entries(usageEvents).find(([, v]) => v === c)![0] as keyof NewUsageEvent);
const NAMES = COLUMNS.map((c) => c.name);
const INSERT = `INSERT INTO usage_events (${NAMES.join(', ')}) VALUES (${NAMES.map(() => '?').join(', ')}) ON CONFLICT(id) DO NOTHING`;

/** A row's values in column order, as SQLite stores them (booleans as 0/1, absent as null). */
function valuesOf(row: NewUsageEvent): Array<string | number | null> {
  return FIELDS.map((f) => {
    const v = row[f];
    return v === undefined || v === null ? null : typeof v === 'boolean' ? (v ? 1 : 0) : (v as string | number);
  });
}

/** Rows waiting to be copied to D1, in insertion order. */
export interface CopyBatch {
  rows: Array<Array<string | number | null>>;
  last: number;
}

/**
 * The Durable Object's ledger: synchronous writes (committed before the RPC answer leaves the object),
 * with a running total of priced use so credits never re-sum the whole history.
 */
export class LedgerStore {
  constructor(private readonly sql: SqlStorage) {
    for (const statement of SCHEMA) sql.exec(statement);
    sql.exec('INSERT OR IGNORE INTO ledger_spent (id, cost_micros) SELECT 1, coalesce(sum(cost_micros), 0) FROM usage_events');
  }

  /** Inserts a row; a row with the same id (a retried commit) is left as it is. Returns whether it was new. */
  insert(row: NewUsageEvent): boolean {
    const inserted = this.sql.exec(INSERT, ...valuesOf(row)).rowsWritten > 0;
    if (inserted && row.costMicros) this.sql.exec('UPDATE ledger_spent SET cost_micros = cost_micros + ? WHERE id = 1', row.costMicros);
    return inserted;
  }

  /** All priced use of this customer, ever (micro-units). */
  spentMicros(): number {
    return this.sql.exec('SELECT cost_micros FROM ledger_spent WHERE id = 1').one().cost_micros as number;
  }

  /**
   * Deletes rows already copied to D1 that started before `before`, in batches of `batch`, at most
   * `maxBatches` of them. The newest row is always kept, so SQLite never hands out a rowid at or below the
   * copy cursor again. Returns whether everything due was deleted.
   */
  prune(before: number, batch = 10_000, maxBatches = 20): boolean {
    const copied = this.copied();
    for (let i = 0; i < maxBatches; i++) {
      const deleted = this.sql.exec(
        `DELETE FROM usage_events WHERE rowid IN (
           SELECT rowid FROM usage_events WHERE rowid <= ? AND started_at < ? AND rowid < (SELECT max(rowid) FROM usage_events) LIMIT ?
         )`,
        copied, before, batch,
      );
      if (deleted.rowsWritten === 0) return true;
      if (this.sql.exec('SELECT changes() AS n').one().n as number < batch) return true;
    }
    return false;
  }

  /** Whether a row with this id is in the ledger. */
  has(id: string): boolean {
    return this.sql.exec('SELECT 1 FROM usage_events WHERE id = ?', id).toArray().length > 0;
  }

  /** Up to `limit` rows not yet copied to D1. */
  pending(limit: number): CopyBatch {
    const copied = this.copied();
    const rows: CopyBatch['rows'] = [];
    let last = copied;
    for (const r of this.sql.exec(`SELECT rowid AS seq, ${NAMES.join(', ')} FROM usage_events WHERE rowid > ? ORDER BY rowid LIMIT ?`, copied, limit)) {
      last = r.seq as number;
      rows.push(NAMES.map((n) => r[n] as string | number | null));
    }
    return { rows, last };
  }

  /** Marks rows up to `last` as copied. */
  markCopied(last: number): void {
    this.sql.exec('INSERT INTO ledger_copy (id, copied) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET copied = max(copied, excluded.copied)', last);
  }

  copied(): number {
    const row = this.sql.exec('SELECT copied FROM ledger_copy WHERE id = 1').toArray()[0];
    return (row?.copied as number | undefined) ?? 0;
  }

  /** The columns of this store's `usage_events` (compared with D1's in tests). */
  columns(): string[] {
    return this.sql.exec('SELECT name FROM pragma_table_info(?) ORDER BY name', 'usage_events').toArray().map((r) => r.name as string);
  }
}

/** The D1 statement that copies one row (idempotent: a row already there is left alone). */
export function copyStatement(db: D1Database, values: Array<string | number | null>): D1PreparedStatement {
  return db.prepare(INSERT).bind(...values);
}
