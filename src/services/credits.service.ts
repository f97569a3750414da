import { runAtomic } from '../db/atomic';
import { insertAuditStatement } from '../db/repos/audit.repo';
import { insertCreditGrantStatement } from '../db/repos/credits.repo';
import type { CreditGrantRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { AdminDeps } from './admin';
import { auditChanges, auditRow, SYSTEM_AUDIT, type AuditContext } from './audit.service';
import { getCustomer } from './customers.service';

/**
 * Adds prepaid credit to a customer (in its plan's currency; a negative amount takes credit back). A
 * running gateway sees it from its next request: its limiter reloads credit states on admin changes.
 */
export async function grantCredits(
  deps: AdminDeps,
  input: { customer: string; amount: number; reason?: string | null },
  audit: AuditContext = SYSTEM_AUDIT,
): Promise<CreditGrantRow> {
  if (!Number.isFinite(input.amount) || input.amount === 0) {
    throw new ServiceError('invalid_request', 'The amount must be a non-zero number.', 'amount');
  }
  const customer = await getCustomer(deps, input.customer);
  const row: CreditGrantRow = {
    id: newId('crg'),
    customerId: customer.id,
    amountMicros: Math.round(input.amount * 1_000_000),
    reason: input.reason?.trim() || null,
    createdAt: deps.now(),
  };
  const entry = auditRow(deps, audit, 'credits.grant', { type: 'customer', id: customer.id }, auditChanges(null, row)!);
  await runAtomic(deps.db, [insertCreditGrantStatement(deps.db, row), insertAuditStatement(deps.db, entry)]);
  deps.changes.changed();
  return row;
}
