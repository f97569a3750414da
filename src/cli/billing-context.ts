import { parseConfig } from '../config';
import type { CustomerRow } from '../db/schema';
import { ServiceError } from '../domain/errors';
import { buildBillingDeps } from '../services/billing/billing-runtime';
import type { BillingDeps } from '../services/billing/billing-deps';
import { linkCustomerToStripe } from '../services/billing/link.service';
import type { CommandContext } from './args';

/** Billing deps for a CLI verb: the CLI's store plus Stripe from the environment (STRIPE_SECRET_KEY, STRIPE_API_URL, …). */
export function cliBillingDeps(ctx: Pick<CommandContext, 'admin'>, env: Record<string, string | undefined> = process.env): BillingDeps {
  let config;
  try {
    config = parseConfig(env);
  } catch (error) {
    throw new ServiceError('billing_not_configured', (error as Error).message);
  }
  const admin = ctx.admin();
  return buildBillingDeps(config, {
    db: admin.db,
    now: admin.now,
    changes: admin.changes,
    log: (level, message, fields) => {
      if (level === 'error') process.stderr.write(`warning: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
    },
  });
}

/**
 * `customers create --stripe` / `--stripe-customer`: links the customer just created (creating the Stripe
 * customer when no id is given). A failure leaves the customer unlinked and says how to finish.
 */
export async function linkCreatedCustomer(ctx: Pick<CommandContext, 'admin' | 'audit'>, customer: CustomerRow, stripeCustomerId?: string): Promise<CustomerRow> {
  try {
    return await linkCustomerToStripe(ctx.admin(), cliBillingDeps(ctx), customer.id, stripeCustomerId, ctx.audit);
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    throw new ServiceError(error.code, `Customer ${customer.id} was created but not linked to Stripe: ${error.message} Finish with 'tollgate billing link ${customer.id}'.`, error.param);
  }
}
