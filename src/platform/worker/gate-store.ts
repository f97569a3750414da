import type { LimitCaller, ReserveRequest } from '../../services/limits/types';
import type { SubjectState, SubjectStore } from '../../services/limits/subjects';

/**
 * What a customer's object keeps in its storage besides the ledger, so that losing its memory (idle
 * eviction, a deploy, a crash) loses no limit state: the calls it admitted and has not settled (their
 * holds and concurrency slots are taken again on restart) and the counters the ledger cannot rebuild —
 * requests per window and settled tokens of the current minute.
 */
const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS admitted (call_id text PRIMARY KEY NOT NULL, at integer NOT NULL, caller text NOT NULL, request text NOT NULL)',
  'CREATE TABLE IF NOT EXISTS gate_settings (name text PRIMARY KEY NOT NULL, value integer NOT NULL)',
  `CREATE TABLE IF NOT EXISTS counters (
    subject text NOT NULL, kind text NOT NULL, window_ms integer NOT NULL, start integer NOT NULL, value integer NOT NULL,
    PRIMARY KEY (subject, kind, window_ms)
  )`,
];

const UPSERT = `INSERT INTO counters (subject, kind, window_ms, start, value) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (subject, kind, window_ms) DO UPDATE SET start = excluded.start, value = excluded.value`;

/** An admitted, unsettled call as stored. */
export interface AdmittedCall {
  callId: string;
  at: number;
  caller: LimitCaller;
  request: ReserveRequest;
}

const subjectName = (s: SubjectState) => `${s.kind}:${s.id}`;

export class GateStore {
  constructor(private readonly sql: SqlStorage) {
    for (const statement of SCHEMA) sql.exec(statement);
  }

  /** Records an admitted call (with what it reserved) and the request windows it counted in. */
  admit(callId: string, at: number, caller: LimitCaller, request: ReserveRequest, subjects: SubjectState[]): void {
    this.sql.exec('INSERT OR REPLACE INTO admitted (call_id, at, caller, request) VALUES (?, ?, ?, ?)', callId, at, JSON.stringify(caller), JSON.stringify(request));
    for (const s of subjects) for (const w of s.windows.values()) this.sql.exec(UPSERT, subjectName(s), 'window', w.windowMs, w.start, w.count);
  }

  /** The call settled (or was released): its holds are gone; the minute's settled tokens are kept. */
  settled(callId: string, subjects: SubjectState[]): void {
    this.sql.exec('DELETE FROM admitted WHERE call_id = ?', callId);
    for (const s of subjects) if (s.tpm.used > 0) this.sql.exec(UPSERT, subjectName(s), 'tpm', 60_000, s.tpm.start, s.tpm.used);
  }

  /** Admitted calls not yet settled, oldest first. */
  admitted(): AdmittedCall[] {
    return this.sql
      .exec('SELECT call_id, at, caller, request FROM admitted ORDER BY at')
      .toArray()
      .map((r) => ({ callId: r.call_id as string, at: r.at as number, caller: JSON.parse(r.caller as string), request: JSON.parse(r.request as string) }));
  }

  /** Puts the stored window and minute counters back into a fresh subject store. */
  restoreCounters(subjects: SubjectStore, now: number): void {
    for (const r of this.sql.exec('SELECT subject, kind, window_ms, start, value FROM counters').toArray()) {
      const windowMs = r.window_ms as number;
      const start = r.start as number;
      if (start + windowMs <= now) continue;
      const [kind, ...rest] = (r.subject as string).split(':');
      const state = subjects.get(kind as 'key' | 'customer', rest.join(':'));
      if (r.kind === 'window') {
        const w = state.window(windowMs);
        w.start = start;
        w.count = r.value as number;
      } else {
        state.tpm.start = start;
        state.tpm.used = r.value as number;
      }
    }
  }

  /** The longest lookback any of this customer's quotas or budgets has needed (how long ledger rows are kept). */
  lookbackMs(): number {
    const row = this.sql.exec("SELECT value FROM gate_settings WHERE name = 'lookback_ms'").toArray()[0];
    return (row?.value as number | undefined) ?? 0;
  }

  setLookbackMs(ms: number): void {
    this.sql.exec("INSERT INTO gate_settings (name, value) VALUES ('lookback_ms', ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)", ms);
  }

  /** Rows that started before this were pruned from the object's ledger (0: none were); D1 still has them. */
  prunedBefore(): number {
    const row = this.sql.exec("SELECT value FROM gate_settings WHERE name = 'pruned_before'").toArray()[0];
    return (row?.value as number | undefined) ?? 0;
  }

  setPrunedBefore(at: number): void {
    this.sql.exec("INSERT INTO gate_settings (name, value) VALUES ('pruned_before', ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)", at);
  }

  /** Drops counters whose window has ended. */
  prune(now: number): void {
    this.sql.exec('DELETE FROM counters WHERE start + window_ms <= ?', now);
  }
}
