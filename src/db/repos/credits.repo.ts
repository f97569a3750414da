import { creditGrants, type CreditGrantRow } from '../schema';
import type { Db } from '../types';

/** Statement: records a credit grant (committed with its audit row). */
export function insertCreditGrantStatement(db: Db, row: CreditGrantRow) {
  return db.insert(creditGrants).values(row);
}
