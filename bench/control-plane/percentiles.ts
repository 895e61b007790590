// Percentiles of a handful of samples (five to twenty changes): nearest rank, so every figure
// reported is one that was actually measured, and p99 of fewer than 100 samples is their max.
export interface Percentiles { n: number; p50: number; p99: number; min: number; max: number }

export function nearestRank(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function percentiles(values: number[]): Percentiles {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return { n: v.length, p50: nearestRank(v, 50), p99: nearestRank(v, 99), min: v[0] ?? NaN, max: v[v.length - 1] ?? NaN };
}
