// Durations as the seed's `timer` field writes them: Go's time.ParseDuration syntax
// ("300ms", "1.5h", "2h45m") plus a day unit "d" (= 24h). Negative durations make no sense for a
// timer and are refused.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/y;

export class DurationError extends Error {
  override name = 'DurationError';
}

/** Parses a duration string into milliseconds (fractions of a millisecond are kept). */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '') throw new DurationError('empty duration');
  if (s === '0') return 0;
  if (s.startsWith('-')) throw new DurationError(`negative duration "${text}"`);
  let i = s.startsWith('+') ? 1 : 0;
  let total = 0;
  let terms = 0;
  while (i < s.length) {
    TERM.lastIndex = i;
    const m = TERM.exec(s);
    if (!m) {
      throw new DurationError(
        `invalid duration "${text}": expected a number and a unit (ns, us, ms, s, m, h, d) at "${s.slice(i)}"`,
      );
    }
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    i = TERM.lastIndex;
    terms++;
  }
  if (terms === 0) throw new DurationError(`invalid duration "${text}"`);
  return total;
}

/** Whole seconds, rounded up, for fields such as activeDeadlineSeconds. */
export function durationSeconds(text: string): number {
  return Math.ceil(parseDuration(text) / 1000);
}

/** Formats milliseconds in Go style ("1h30m0s" is written "1h30m"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
