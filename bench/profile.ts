import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  /** The caller that accounts for most of this function's self time. */
  caller: string;
  selfMs: number;
  share: number;
}

function shorten(url: string, root: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/**
 * Self time per function (summed over call sites) from a `--cpu-prof` file, busiest first. Files run
 * through tsx are transpiled onto one line, so `where` names the file and `caller` tells anonymous
 * functions apart.
 */
export function topSelfTime(file: string, root: string, limit = 10): { busyMs: number; top: HotFunction[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const label = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${shorten(url, root)}${url.startsWith('node:') || url.includes('/node_modules/') ? `:${lineNumber + 1}` : ''}` : '';
    return { name, where };
  };
  const self = new Map<string, { name: string; where: string; us: number; callers: Map<string, number> }>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!node) continue;
    const { name, where } = label(node);
    if (name === '(idle)') continue;
    busy += us;
    const key = `${name}@${where}`;
    const entry = self.get(key) ?? { name, where, us: 0, callers: new Map() };
    entry.us += us;
    const parent = byId.get(parentOf.get(node.id) ?? -1);
    if (parent) {
      const p = label(parent);
      const caller = `${p.name} ${p.where}`.trim();
      entry.callers.set(caller, (entry.callers.get(caller) ?? 0) + us);
    }
    self.set(key, entry);
  }
  const top = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({
      name: e.name,
      where: e.where,
      caller: [...e.callers].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '',
      selfMs: e.us / 1000,
      share: busy ? e.us / busy : 0,
    }));
  return { busyMs: busy / 1000, top };
}
