import { parseDuration } from '../domain/duration';
import { parseJsonObject, UsageError, type Args, type OptionSpec } from './args';

type Doc = Record<string, unknown>;
const SCOPES = ['key', 'customer', 'both'];

/** The limit options of `plans create` and `plans update`: every part of a plan's limits as a flag. */
export const LIMIT_OPTIONS: Record<string, OptionSpec> = {
  limits: { type: 'string', value: 'json', help: 'the whole limits document as a JSON object; the flags below apply on top of it' },
  rate: {
    type: 'string', multiple: true, value: 'N/WINDOW[:scope]',
    help: 'N requests per fixed window (1s, 10s, 1m, 1h, 1d, …), e.g. 10/1s; repeat for several windows at once: --rate 10/1s --rate 500/1m',
  },
  tpm: { type: 'string', value: 'N[:scope]', help: 'tokens per minute: prompt + completion tokens, weighted by --tpm-weights' },
  'tpm-weights': { type: 'string', value: 'prompt=P,completion=C', help: 'how much a prompt and a completion token count in --tpm (default 1 and 1), e.g. prompt=1,completion=3' },
  concurrency: { type: 'string', value: 'N[:scope]', help: 'requests in flight at once' },
  quota: {
    type: 'string', multiple: true, value: 'UNIT:N/PERIOD[:MODE][:scope]',
    help: 'N units per period — UNIT requests|tokens|predictions, PERIOD day|week|month (UTC calendar) or rolling:30d, MODE hard (refuse, default) or soft (allow, count as overage); e.g. requests:100000/month:hard',
  },
  credits: { type: 'boolean', help: 'priced calls spend prepaid credits (add them with `tollgate credits grant`); refused when used up' },
  'credits-refill': { type: 'string', value: 'amount', help: 'credits added every --credits-every period (implies --credits)' },
  'credits-every': { type: 'string', value: 'day|week|month', help: 'the refill period (default month)' },
  'credit-alerts': { type: 'string', value: 'P,P,…', help: 'alert (event + webhook) when these percentages of the credits are spent, e.g. 50,80,100' },
  budget: { type: 'string', value: 'AMOUNT/PERIOD', help: 'money per period (day, week, month or rolling:30d), priced with --price; refused once spent, e.g. 100/month' },
  alerts: { type: 'string', value: 'P,P,…', help: 'budget alert thresholds in percent (event + webhook, once per period each), e.g. 50,80,100' },
  price: {
    type: 'string', multiple: true, value: 'MODEL:prompt=X,completion=Y,request=Z,prediction=W',
    help: 'a model\'s prices in the plan currency: per 1K prompt / completion tokens, per request, per prediction; MODEL * prices every model without its own entry',
  },
  currency: { type: 'string', value: 'code', help: 'ISO 4217 code of prices, budget and credits (default usd)' },
  'default-max-tokens': { type: 'string', value: 'N', help: 'completion tokens reserved for a call that names no max_tokens (default 1024)' },
  scope: { type: 'string', value: 'key|customer|both', help: 'whom each limit counts unless it names its own scope: each key, the customer (all its keys together), or both (default customer)' },
};

/** Parts `--clear` removes, and the document keys behind each. */
const PARTS: Record<string, string[]> = {
  rates: ['rates', 'rate'], tpm: ['tokensPerMinute'], concurrency: ['concurrency'], quotas: ['quotas'], credits: ['credits'],
  budget: ['budget'], prices: ['prices'], 'default-max-tokens': ['defaultMaxTokens'], scope: ['scope'], currency: ['currency'],
};

/** `plans update` only: removes parts before the flags apply. */
export const CLEAR_OPTION: OptionSpec = {
  type: 'string', multiple: true, value: 'PART[,PART]',
  help: `remove parts of the limits first: ${Object.keys(PARTS).join(', ')}, or all`,
};

/**
 * The limits document the flags describe, on top of `base` (a plan's current limits, or `{}`); undefined
 * when no limit flag was given. Each flag replaces its part (prices merge per model). The service
 * validates the result and names any bad field.
 */
export function limitsFromFlags(args: Args, base: Doc, command: string): Doc | undefined {
  const bad = (message: string) => new UsageError(message, command);
  const touched = Object.keys(LIMIT_OPTIONS).some((o) => (LIMIT_OPTIONS[o].type === 'boolean' ? args.flag(o) : args.list(o).length > 0));
  const clears = args.list('clear').flatMap((c) => c.split(',')).map((c) => c.trim()).filter(Boolean);
  if (!touched && !clears.length) return undefined;

  const limitsJson = args.string('limits');
  let doc: Doc = limitsJson === undefined ? structuredClone(base) : parseJsonObject(limitsJson, 'limits', command);
  for (const part of clears) {
    if (part === 'all') doc = {};
    else if (PARTS[part]) for (const key of PARTS[part]) delete doc[key];
    else throw bad(`--clear takes ${Object.keys(PARTS).join(', ')} or all; got '${part}'`);
  }

  const rates = args.list('rate');
  if (rates.length) {
    delete doc.rate;
    doc.rates = rates.map((r) => parseRate(r, bad));
  }
  const tpm = args.string('tpm');
  const weights = args.string('tpm-weights');
  if (tpm !== undefined) {
    const { value, scope } = withScope(tpm, '--tpm', bad);
    const { scope: _old, ...previous } = (doc.tokensPerMinute ?? {}) as Doc;
    doc.tokensPerMinute = { ...previous, limit: count(value, '--tpm', bad), ...(scope ? { scope } : {}) };
  }
  if (weights !== undefined) {
    if (!doc.tokensPerMinute) throw bad('--tpm-weights weighs the --tpm limit: give --tpm too');
    doc.tokensPerMinute = { ...(doc.tokensPerMinute as Doc), ...parseWeights(weights, bad) };
  }
  const concurrency = args.string('concurrency');
  if (concurrency !== undefined) {
    const { value, scope } = withScope(concurrency, '--concurrency', bad);
    doc.concurrency = { limit: count(value, '--concurrency', bad), ...(scope ? { scope } : {}) };
  }
  const quotas = args.list('quota');
  if (quotas.length) doc.quotas = quotas.map((q) => parseQuota(q, bad));

  const refill = args.string('credits-refill');
  const every = args.string('credits-every');
  const creditAlerts = args.string('credit-alerts');
  if (args.flag('credits') || refill !== undefined || every !== undefined || creditAlerts !== undefined) {
    const credits = { ...((doc.credits ?? {}) as Doc) };
    if (refill !== undefined) credits.refill = amount(refill, '--credits-refill', bad);
    if (every !== undefined) {
      if (!['day', 'week', 'month'].includes(every)) throw bad(`--credits-every takes day, week or month; got '${every}'`);
      credits.every = every;
    }
    if (creditAlerts !== undefined) credits.alerts = percents(creditAlerts, '--credit-alerts', bad);
    doc.credits = credits;
  }
  const budget = args.string('budget');
  if (budget !== undefined) {
    const match = /^([^/]+)\/(.+)$/.exec(budget.trim());
    if (!match) throw bad(`--budget looks like 100/month or 25/rolling:30d; got '${budget}'`);
    doc.budget = { ...((doc.budget ?? {}) as Doc), amount: amount(match[1], '--budget', bad), period: match[2] };
  }
  const alerts = args.string('alerts');
  if (alerts !== undefined) {
    if (!doc.budget) throw bad('--alerts are budget thresholds: give --budget too (credit thresholds: --credit-alerts)');
    doc.budget = { ...(doc.budget as Doc), alerts: percents(alerts, '--alerts', bad) };
  }
  const prices = args.list('price');
  if (prices.length) doc.prices = { ...((doc.prices ?? {}) as Doc), ...Object.fromEntries(prices.map((p) => parsePrice(p, bad))) };

  const currency = args.string('currency');
  if (currency !== undefined) doc.currency = currency.trim().toLowerCase();
  const maxTokens = args.string('default-max-tokens');
  if (maxTokens !== undefined) doc.defaultMaxTokens = count(maxTokens, '--default-max-tokens', bad);
  const scope = args.string('scope');
  if (scope !== undefined) {
    if (!SCOPES.includes(scope)) throw bad(`--scope takes key, customer or both; got '${scope}'`);
    doc.scope = scope;
  }
  return doc;
}

type Bad = (message: string) => UsageError;

function count(text: string, flag: string, bad: Bad): number {
  const cleaned = text.trim().replace(/_/g, '');
  if (!/^\d+$/.test(cleaned) || Number(cleaned) <= 0) throw bad(`${flag} needs a whole number above 0; got '${text}'`);
  return Number(cleaned);
}

function amount(text: string, flag: string, bad: Bad): number {
  const cleaned = text.trim().replace(/_/g, '');
  if (!/^\d+(\.\d+)?$/.test(cleaned)) throw bad(`${flag} needs an amount such as 100 or 0.5; got '${text}'`);
  return Number(cleaned);
}

function percents(text: string, flag: string, bad: Bad): number[] {
  return text.split(',').map((p) => {
    const n = Number(p.trim().replace(/%$/, ''));
    if (!p.trim() || !Number.isFinite(n) || n <= 0) throw bad(`${flag} takes percentages such as 50,80,100; got '${text}'`);
    return n;
  });
}

/** `value[:scope]`. */
function withScope(text: string, flag: string, bad: Bad): { value: string; scope?: string } {
  const [value, scope, ...rest] = text.trim().split(':');
  if (rest.length || (scope !== undefined && !SCOPES.includes(scope))) throw bad(`${flag} takes N or N:key|customer|both; got '${text}'`);
  return { value, scope };
}

/** `10/1s`, `500/m`, `20000/1d:customer`. */
function parseRate(text: string, bad: Bad): Doc {
  const { value, scope } = withScope(text, '--rate', bad);
  const match = /^([\d_]+)\/(\S+)$/.exec(value);
  const per = match && /^[smhdw]$/.test(match[2]) ? `1${match[2]}` : match?.[2];
  if (!match || !per || !((parseDuration(per) ?? 0) > 0)) throw bad(`--rate looks like 10/1s, 500/1m or 20000/1d; got '${text}'`);
  return { requests: count(match[1], '--rate', bad), per, ...(scope ? { scope } : {}) };
}

/** `requests:100000/month:hard`, `tokens:5000000/rolling:30d:soft:key`. */
function parseQuota(text: string, bad: Bad): Doc {
  const match = /^(requests|tokens|predictions):([\d_]+)\/(day|week|month|rolling:\d+[smhd])(?::(hard|soft))?(?::(key|customer|both))?$/.exec(text.trim());
  if (!match) throw bad(`--quota looks like requests:100000/month:hard (units requests|tokens|predictions, periods day|week|month|rolling:30d, modes hard|soft); got '${text}'`);
  return { unit: match[1], limit: count(match[2], '--quota', bad), period: match[3], ...(match[4] ? { mode: match[4] } : {}), ...(match[5] ? { scope: match[5] } : {}) };
}

const PRICE_FIELDS: Record<string, string> = { prompt: 'promptPer1k', completion: 'completionPer1k', request: 'perRequest', prediction: 'perPrediction' };

/** `gpt-4o:prompt=2.5,completion=10` or `*:request=0.001`; the model is everything before the last colon. */
function parsePrice(text: string, bad: Bad): [string, Doc] {
  const at = text.lastIndexOf(':');
  const model = text.slice(0, at).trim();
  if (at <= 0 || !model) throw bad(`--price looks like MODEL:prompt=0.5,completion=1.5 (MODEL * for every model); got '${text}'`);
  const price: Doc = {};
  for (const pair of text.slice(at + 1).split(',')) {
    const [name, value] = pair.split('=').map((s) => s.trim());
    if (!PRICE_FIELDS[name] || value === undefined) throw bad(`--price takes prompt=, completion=, request= and prediction= amounts; got '${pair}' in '${text}'`);
    price[PRICE_FIELDS[name]] = amount(value, '--price', bad);
  }
  return [model, price];
}

function parseWeights(text: string, bad: Bad): Doc {
  const out: Doc = {};
  for (const pair of text.split(',')) {
    const [name, value] = pair.split('=').map((s) => s.trim());
    if ((name !== 'prompt' && name !== 'completion') || value === undefined) throw bad(`--tpm-weights looks like prompt=1,completion=3; got '${text}'`);
    out[`${name}Weight`] = amount(value, '--tpm-weights', bad);
  }
  return out;
}
