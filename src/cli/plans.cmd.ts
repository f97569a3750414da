import { createPlan, getPlans } from '../services/plans.service';
import { parseJsonObject, type Noun } from './args';
import { fields, iso, table } from './output';

/** `tollgate plans create|list`. */
export const plansNoun: Noun = {
  name: 'plans',
  summary: 'Create and list plans (the limits a customer buys).',
  verbs: [
    {
      name: 'plans create',
      summary: 'Create a plan; without --limits it is unlimited.',
      options: {
        name: { type: 'string', value: 'name', required: true, help: 'unique plan name' },
        limits: { type: 'string', value: 'json', help: 'the limits document as a JSON object (default {}, unlimited)' },
      },
      async run({ args, admin }) {
        const limitsText = args.string('limits');
        const limits = limitsText === undefined ? undefined : parseJsonObject(limitsText, 'limits', 'plans create');
        const plan = await createPlan(admin(), { name: args.required('name'), limits });
        const text = fields([
          ['id', plan.id],
          ['name', plan.name],
          ['limits', JSON.stringify(plan.limits)],
          ['created', iso(plan.createdAt)],
        ]);
        return { json: plan, text };
      },
    },
    {
      name: 'plans list',
      summary: 'List all plans by name.',
      options: {},
      async run({ admin }) {
        const plans = await getPlans(admin());
        const rows = plans.map((p) => [p.id, p.name, JSON.stringify(p.limits), iso(p.createdAt)]);
        return { json: plans, text: table(['id', 'name', 'limits', 'created'], rows) };
      },
    },
  ],
};
