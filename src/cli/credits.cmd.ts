import { grantCredits } from '../services/credits.service';
import { UsageError, type Noun } from './args';
import { fields, iso } from './output';

/** `tollgate credits grant`. */
export const creditsNoun: Noun = {
  name: 'credits',
  summary: 'Prepaid credits: top a customer up (its plan must use credits for calls to spend them).',
  verbs: [
    {
      name: 'credits grant',
      summary: 'Add prepaid credit to a customer; a running gateway uses it from the next request.',
      options: {
        customer: { type: 'string', value: 'id|name', required: true, help: 'the customer to credit' },
        amount: { type: 'string', value: 'amount', required: true, help: 'in the plan currency, e.g. 25 or 0.5 (--amount=-5 takes credit back)' },
        reason: { type: 'string', value: 'text', help: 'why (kept with the grant)' },
      },
      async run({ args, admin, audit }) {
        const text = args.required('amount').trim();
        if (!/^-?\d+(\.\d+)?$/.test(text)) throw new UsageError(`--amount must be a number such as 25 or 0.5; got '${text}'`, 'credits grant');
        const grant = await grantCredits(admin(), { customer: args.required('customer'), amount: Number(text), reason: args.string('reason') }, audit);
        return {
          json: grant,
          text: fields([
            ['id', grant.id],
            ['customer', grant.customerId],
            ['amount', grant.amountMicros / 1_000_000],
            ['reason', grant.reason],
            ['created', iso(grant.createdAt)],
          ]),
        };
      },
    },
  ],
};
