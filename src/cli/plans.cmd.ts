import type { PlanRow } from '../db/schema';
import { createPlan, getPlan, getPlans, planVersion, updatePlan } from '../services/plans.service';
import type { Noun } from './args';
import { fields, iso, table } from './output';
import { CLEAR_OPTION, LIMIT_OPTIONS, limitsFromFlags } from './plan-flags';

/** A plan as fields, then its limits document (pretty JSON). */
function planText(plan: PlanRow): string {
  const head = fields([
    ['id', plan.id],
    ['name', plan.name],
    ['created', iso(plan.createdAt)],
  ]);
  const limits = Object.keys(plan.limits).length ? JSON.stringify(plan.limits, null, 2) : '{} (unlimited)';
  return `${head}\n\nlimits:\n${limits}`;
}

/** `tollgate plans create|update|show|list`. */
export const plansNoun: Noun = {
  name: 'plans',
  summary: 'Create, change and inspect plans (the limits, prices and budgets a customer buys).',
  verbs: [
    {
      name: 'plans create',
      summary: 'Create a plan from --limits JSON and/or limit flags; with neither it is unlimited.',
      options: {
        name: { type: 'string', value: 'name', required: true, help: 'unique plan name' },
        ...LIMIT_OPTIONS,
      },
      async run({ args, admin, audit }) {
        const limits = limitsFromFlags(args, {}, 'plans create');
        const plan = await createPlan(admin(), { name: args.required('name'), limits }, audit);
        return { json: plan, text: planText(plan) };
      },
    },
    {
      name: 'plans update',
      summary: 'Change a plan: the given flags replace their parts of its limits (prices merge per model); takes effect on the next request.',
      positionals: ['id|name'],
      options: {
        name: { type: 'string', value: 'name', help: 'rename the plan' },
        clear: CLEAR_OPTION,
        ...LIMIT_OPTIONS,
      },
      async run({ args, admin, audit }) {
        const deps = admin();
        const current = await getPlan(deps, args.positional(0));
        const limits = limitsFromFlags(args, current.limits, 'plans update');
        // The flags were merged into this version: refuse rather than overwrite a change made meanwhile.
        const plan = await updatePlan(deps, current.id, { name: args.string('name'), limits }, { audit, ifVersion: [planVersion(current)] });
        return { json: plan, text: planText(plan) };
      },
    },
    {
      name: 'plans show',
      summary: 'Show one plan and its limits document.',
      positionals: ['id|name'],
      options: {},
      async run({ args, admin }) {
        const plan = await getPlan(admin(), args.positional(0));
        return { json: plan, text: planText(plan) };
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
