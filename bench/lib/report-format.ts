// Number formatting shared by the report's tables: a dash for missing figures, medians with
// their min–max, ratios, and the verdict against a target.
import type { Spread } from './stats.ts';

export const num = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
export const sp = (s: Spread, d = 0, unit = ''): string =>
  s.n === 0 || !Number.isFinite(s.median) ? '–' : s.n === 1 ? `${num(s.median, d)}${unit}` : `${num(s.median, d)}${unit} [${num(s.min, d)}–${num(s.max, d)}]`;
export const ratio = (s: Spread): string => (s.n === 0 || !Number.isFinite(s.median) ? '–' : s.n === 1 ? `${num(s.median, 2)}×` : `${num(s.median, 2)}× [${num(s.min, 2)}–${num(s.max, 2)}]`);

export function verdict(measured: number, target: number): string {
  if (!Number.isFinite(measured)) return 'not measured';
  if (measured <= target) return 'met';
  const over = measured / target;
  return over >= 2 ? `missed: ${num(over, 1)}× the target` : `missed by ${Math.round((over - 1) * 100)}%`;
}

/** Worst (largest) median across scenarios, with the scenario it came from. */
