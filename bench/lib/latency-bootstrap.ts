// The statistics of the closed-loop latency stage (latency-stage.ts): percentiles of samples
// taken in short blocks, and 95 % intervals from a block bootstrap. Blocks, not single samples,
// are resampled because neighbouring requests share the machine's state (a busy neighbour, a
// GC) and are not independent; and the SAME block indices are drawn for every configuration,
// because block b of each configuration was measured within the same fraction of a second, so
// drift of the shared machine cancels in the differences and ratios instead of widening them.
// A seeded generator keeps a run's intervals reproducible from its samples, and the tests exact.
import { prng } from '../../test/support/prng.ts';

/** The tests' seeded generator (mulberry32). */
export const seededRandom = prng;

/** One configuration's samples, sorted once, each remembering the block it was measured in. */
export interface BlockedSamples {
  /** Sample values, ascending. */
  values: Float64Array;
  /** blockOf[i]: the block values[i] came from. */
  blockOf: Uint32Array;
  /** Samples per block. */
  counts: Uint32Array;
}

/** blocks[b] = the samples of block b (any order). */
export function blocked(blocks: readonly (readonly number[])[]): BlockedSamples {
  const pairs: { v: number; b: number }[] = [];
  blocks.forEach((bl, b) => { for (const v of bl) pairs.push({ v, b }); });
  pairs.sort((x, y) => x.v - y.v);
  return {
    values: Float64Array.from(pairs, (p) => p.v),
    blockOf: Uint32Array.from(pairs, (p) => p.b),
    counts: Uint32Array.from(blocks, (bl) => bl.length),
  };
}

/**
 * The q-quantile (nearest rank: the smallest value with at least ceil(q·N) samples at or below
 * it) of the multiset in which block b's samples appear weights[b] times. One walk over the
 * sorted samples, from whichever end is nearer, instead of a sort per bootstrap draw.
 */
export function weightedQuantile(s: BlockedSamples, weights: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let b = 0; b < s.counts.length; b++) total += (weights[b] ?? 0) * s.counts[b]!;
  if (total === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * total));
  if (q <= 0.5) {
    let cum = 0;
    for (let i = 0; i < s.values.length; i++) {
      cum += weights[s.blockOf[i]!] ?? 0;
      if (cum >= rank) return s.values[i]!;
    }
  } else {
    // the rank-th smallest is the first value, walking down, with more than total − rank above it
    const above = total - rank;
    let cum = 0;
    for (let i = s.values.length - 1; i >= 0; i--) {
      cum += weights[s.blockOf[i]!] ?? 0;
      if (cum > above) return s.values[i]!;
    }
  }
  return s.values[s.values.length - 1] ?? NaN;
}

export interface Interval { point: number; lo: number; hi: number }

/** The value at fraction p of already sorted numbers (linear between neighbours). */
function at(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const x = p * (sorted.length - 1);
  const i = Math.floor(x);
  const j = Math.min(sorted.length - 1, i + 1);
  return sorted[i]! + (sorted[j]! - sorted[i]!) * (x - i);
}

/**
 * Point estimates and 95 % percentile-bootstrap intervals of several statistics of block weights
 * (all ones = the data as measured), all from the same draws so they stay paired: `stats`
 * returns every statistic for one weighting. Each draw picks `blocks` blocks with replacement.
 * Draws where a statistic is undefined (NaN, e.g. a ratio over zero) are left out of its
 * interval; if more than 2.5 % of them are, its interval is unbounded on both sides rather than
 * a guess.
 */
export function blockBootstrap(blocks: number, stats: (weights: Uint32Array) => number[], draws: number, seed: number): Interval[] {
  const points = stats(new Uint32Array(blocks).fill(1));
  const rnd = seededRandom(seed);
  const outs: number[][] = points.map(() => []);
  const w = new Uint32Array(blocks);
  for (let d = 0; d < draws; d++) {
    w.fill(0);
    for (let k = 0; k < blocks; k++) w[Math.floor(rnd() * blocks)]!++;
    stats(w).forEach((v, i) => { if (Number.isFinite(v)) outs[i]!.push(v); });
  }
  return outs.map((o, i) => {
    if (o.length === 0 || o.length < draws * 0.975) return { point: points[i]!, lo: -Infinity, hi: Infinity };
    o.sort((a, b) => a - b);
    return { point: points[i]!, lo: at(o, 0.025), hi: at(o, 0.975) };
  });
}
