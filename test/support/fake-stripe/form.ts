/** A decoded form or query value: strings nested by Stripe's bracketed keys (`a[b][0]=v`). */
export type FormValue = string | { [key: string]: FormValue };

/**
 * Decodes `application/x-www-form-urlencoded` the way Stripe reads it: `payload[value]=5` becomes
 * `{ payload: { value: '5' } }`, `expand[0]=a` and `expand[]=a` become `{ expand: { '0': 'a' } }`.
 * Throws on a key that is both a value and an object.
 */
export function decodeForm(text: string): Record<string, FormValue> {
  const root: Record<string, FormValue> = {};
  const params = new URLSearchParams(text);
  const counters = new Map<object, number>();
  for (const [rawKey, value] of params) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (!match) throw new Error(`malformed parameter name '${rawKey}'`);
    const path = [match[1], ...[...match[2].matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1])];
    let node: Record<string, FormValue> = root;
    for (let i = 0; i < path.length; i++) {
      let key = path[i];
      if (key === '') {
        const n = counters.get(node) ?? 0;
        counters.set(node, n + 1);
        key = String(n);
      }
      if (i === path.length - 1) {
        if (typeof node[key] === 'object') throw new Error(`parameter '${rawKey}' is both a value and an object`);
        node[key] = value;
      } else {
        const next = node[key] ?? {};
        if (typeof next === 'string') throw new Error(`parameter '${rawKey}' is both a value and an object`);
        node[key] = next;
        node = next;
      }
    }
  }
  return root;
}
