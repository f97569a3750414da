import type Database from 'better-sqlite3';
import { prepareUsageInsert } from '../../db/repos/usage.repo';
import type { NewUsageEvent } from '../../db/schema';
import type { LedgerSink } from '../../services/ledger';

interface Waiting {
  row: NewUsageEvent;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit: rows of calls finishing in the same event-loop turn go into one transaction, and each
 * caller's promise resolves after that commit. One commit per turn instead of one per call keeps
 * `synchronous=FULL` affordable and costs well under a millisecond of latency.
 */
export class GroupCommitLedger implements LedgerSink {
  private queue: Waiting[] = [];
  private scheduled = false;
  private readonly insertBatch: (rows: NewUsageEvent[]) => void;

  constructor(sqlite: Database.Database) {
    const insert = prepareUsageInsert(sqlite);
    this.insertBatch = sqlite.transaction((rows: NewUsageEvent[]) => {
      for (const row of rows) insert(row);
    });
  }

  record(row: NewUsageEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commit());
      }
    });
  }

  /** Committed rows are in the one SQLite file reports read: nothing to wait for. */
  async caughtUp(): Promise<void> {}

  async flush(): Promise<void> {
    this.commit();
  }

  /** Commits everything queued before returning (the limits engine reads the ledger right after). */
  commit(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      this.insertBatch(batch.map((w) => w.row));
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    for (const w of batch) w.resolve();
  }
}
