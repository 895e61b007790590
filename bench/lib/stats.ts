// Summaries across rounds: the median with its min–max, so one noisy round neither hides nor
// dominates; and the spread test that flags a run as noisy.
export interface Spread { median: number; min: number; max: number; n: number }

export function spread(values: number[]): Spread {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

/** (max − min) / median: how much a figure moved between rounds. */
export function relativeRange(s: Spread): number {
  return s.n < 2 || s.median === 0 ? 0 : (s.max - s.min) / Math.abs(s.median);
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
