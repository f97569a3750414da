const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of `500ms`, `10s`, `15m`, `1h`, `30d`, `2w` (or `0`); null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(trimmed);
  if (!match) return null;
  const ms = Math.round(Number(match[1]) * UNITS[match[2]]);
  return Number.isFinite(ms) ? ms : null;
}
