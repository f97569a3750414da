import { sumUsage, type UsageFilter, type UsageGroup, type UsageLine } from '../db/repos/usage.repo';
import type { Db } from '../db/types';
import { ServiceError } from '../domain/errors';
import type { AdminDeps } from './admin';
import { getCustomer } from './customers.service';
import { getKey } from './keys.service';

export type { UsageFilter, UsageGroup, UsageLine };

const GROUPS: readonly UsageGroup[] = ['customer', 'key', 'model', 'hour', 'day', 'month'];

/** Parses `YYYY-MM-DD` or an ISO time into epoch ms; day-only values mean the start of that UTC day. */
export function parseTime(value: string | undefined, param: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw new ServiceError('invalid_request', `'${param}' must be a date (YYYY-MM-DD) or an ISO time.`, param);
  return ms;
}

/** Parses a comma list of group names, refusing unknown ones. */
export function parseGroups(value: string | undefined): UsageGroup[] {
  if (!value) return [];
  const groups = value.split(',').map((g) => g.trim()).filter(Boolean);
  for (const g of groups) {
    if (!GROUPS.includes(g as UsageGroup)) {
      throw new ServiceError('invalid_request', `Unknown group '${g}'; use ${GROUPS.join(', ')}.`, 'group_by');
    }
  }
  return groups as UsageGroup[];
}

/** Parses a status filter: `success`, `error` or a three-digit HTTP status. */
export function parseStatus(value: string | undefined): UsageFilter['status'] {
  if (value === undefined || value === '') return undefined;
  if (value === 'success' || value === 'error') return value;
  if (/^[1-5]\d\d$/.test(value)) return Number(value);
  throw new ServiceError('invalid_request', `status must be success, error or an HTTP status such as 429; got '${value}'.`, 'status');
}

/** The start of the current calendar month (UTC), the default usage period. */
export function monthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Usage filters as admins type them (CLI flags, admin API query): names or ids, dates as text. */
export interface UsageFilterInput {
  customer?: string;
  key?: string;
  model?: string;
  status?: string;
  from?: string;
  to?: string;
}

/** Resolves admin-typed filters (customer by id or name, key by id or prefix); the period defaults to this month. */
export async function resolveUsageFilter(deps: AdminDeps, input: UsageFilterInput): Promise<UsageFilter & { from: number; to: number }> {
  return {
    customerId: input.customer ? (await getCustomer(deps, input.customer)).id : undefined,
    keyId: input.key ? (await getKey(deps, input.key)).id : undefined,
    model: input.model || undefined,
    status: parseStatus(input.status),
    from: parseTime(input.from, 'from') ?? monthStart(deps.now()),
    to: parseTime(input.to, 'to') ?? deps.now() + 1,
  };
}

/** Usage totals and lines for a filter. */
export async function queryUsage(db: Db, filter: UsageFilter, groups: UsageGroup[]): Promise<{ totals: UsageLine; lines: UsageLine[] }> {
  const [totals] = await sumUsage(db, filter, []);
  const lines = groups.length ? await sumUsage(db, filter, groups) : [];
  return { totals, lines };
}

/** snake_case view of a usage line for JSON APIs. */
export function usageLineJson(line: UsageLine) {
  return {
    ...(line.customerId !== undefined ? { customer_id: line.customerId } : {}),
    ...(line.keyId !== undefined ? { key_id: line.keyId } : {}),
    ...(line.model !== undefined ? { model: line.model } : {}),
    ...(line.hour !== undefined ? { hour: line.hour } : {}),
    ...(line.day !== undefined ? { day: line.day } : {}),
    ...(line.month !== undefined ? { month: line.month } : {}),
    requests: line.requests,
    errors: line.errors,
    prompt_tokens: line.promptTokens,
    completion_tokens: line.completionTokens,
    total_tokens: line.promptTokens + line.completionTokens,
    cached_tokens: line.cachedTokens,
    reasoning_tokens: line.reasoningTokens,
    predictions: line.predictions,
    estimated: line.estimated,
  };
}
