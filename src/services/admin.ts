import type { Db } from '../db/types';
import type { ChangeWatch } from './change-watch';

/** What admin use cases need: the store, the clock, and a way to tell caches that data changed. */
export interface AdminDeps {
  db: Db;
  now(): number;
  changes: ChangeWatch;
}
