import { parseGroups, queryUsage, resolveUsageFilter, usageLineJson, type UsageGroup } from '../services/usage.service';
import type { Command } from './args';
import { fields, table } from './output';

const COUNTS = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'reasoning_tokens', 'predictions', 'estimated'] as const;
const GROUP_COLUMN: Record<UsageGroup, 'customer_id' | 'key_id' | 'model' | 'hour' | 'day' | 'month'> = {
  customer: 'customer_id',
  key: 'key_id',
  model: 'model',
  hour: 'hour',
  day: 'day',
  month: 'month',
};

/** `tollgate usage`: ledger totals for a period, optionally grouped. */
export const usageCommand: Command = {
  name: 'usage',
  summary: 'Sum the usage ledger: totals, plus lines grouped by customer, key, model or day.',
  options: {
    customer: { type: 'string', value: 'id|name', help: 'only this customer' },
    key: { type: 'string', value: 'id|prefix', help: 'only this key' },
    model: { type: 'string', value: 'name', help: 'only this model' },
    status: { type: 'string', value: 'success|error|code', help: 'only successful calls, failed ones, or one HTTP status' },
    from: { type: 'string', value: 'date', help: 'start, YYYY-MM-DD or ISO time, inclusive (default: start of this month, UTC)' },
    to: { type: 'string', value: 'date', help: 'end, YYYY-MM-DD or ISO time, exclusive (default: now)' },
    by: { type: 'string', value: 'customer,key,model,hour|day|month', help: 'group lines by these (default: totals only)' },
  },
  async run({ args, admin }) {
    const deps = admin();
    const groups = parseGroups(args.string('by'));
    const filter = await resolveUsageFilter(deps, {
      customer: args.string('customer'),
      key: args.string('key'),
      model: args.string('model'),
      status: args.string('status'),
      from: args.string('from'),
      to: args.string('to'),
    });
    const { from, to } = filter;
    const { totals, lines } = await queryUsage(deps.db, filter, groups);
    const totalsJson = usageLineJson(totals);
    const linesJson = lines.map(usageLineJson);
    const json = {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      filter: { customer_id: filter.customerId ?? null, key_id: filter.keyId ?? null, model: filter.model ?? null, status: filter.status ?? null },
      totals: totalsJson,
      lines: linesJson,
    };
    const header = fields([
      ['from', json.from],
      ['to', json.to],
      ...COUNTS.map((c): [string, number] => [c.replace(/_/g, ' '), totalsJson[c]]),
    ]);
    if (!groups.length) return { json, text: header };
    const columns = groups.map((g) => GROUP_COLUMN[g]);
    const rows = linesJson.map((l) => [...columns.map((c) => l[c]), ...COUNTS.map((c) => l[c])]);
    return { json, text: `${header}\n\n${table([...columns, ...COUNTS], rows)}` };
  },
};
