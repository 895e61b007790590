// Counters and histograms keyed by a label set, with a cap on how many series exist: a label
// value we did not foresee (a flood of routes, a misbehaving peer) must not grow memory or the
// scrape without bound. Past the cap, new label sets land in one series whose labels all read
// "overflow", and each such sample is counted so the loss is visible.
import type { Labels } from './labels.ts';

/** Istio's default request-duration buckets, in seconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600];
/** Byte-size buckets: 1 B to 100 MB by powers of ten. */
export const SIZE_BUCKETS = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

export interface Series {
  labels: Labels;
  /** Per metric: a counter value, or a histogram's bucket counts (non-cumulative) + sum + count. */
  values: Map<string, number | Histogram>;
}

export interface Histogram {
  bounds: readonly number[];
  counts: number[];
  sum: number;
  count: number;
}

export function newHistogram(bounds: readonly number[]): Histogram {
  return { bounds, counts: new Array<number>(bounds.length).fill(0), sum: 0, count: 0 };
}

export function observe(h: Histogram, v: number): void {
  h.sum += v;
  h.count++;
  // Few buckets: a linear scan beats a binary search at this size.
  for (let i = 0; i < h.bounds.length; i++) {
    if (v <= h.bounds[i]!) { h.counts[i]!++; return; }
  }
}

export class SeriesTable {
  readonly max: number;
  readonly names: readonly string[];
  overflowed = 0;
  private readonly series = new Map<string, Series>();

  constructor(names: readonly string[], max: number) {
    this.names = names;
    this.max = max;
  }

  /** The series for these labels (in `names` order), or the overflow series past the cap. */
  get(labels: Labels): Series {
    let key = '';
    for (const n of this.names) key += `${labels[n] ?? ''}\u0000`;
    let s = this.series.get(key);
    if (s) return s;
    if (this.series.size >= this.max) {
      this.overflowed++;
      key = '\u0001overflow';
      s = this.series.get(key);
      if (s) return s;
      labels = Object.fromEntries(this.names.map((n) => [n, 'overflow']));
    }
    s = { labels, values: new Map() };
    this.series.set(key, s);
    return s;
  }

  all(): IterableIterator<Series> {
    return this.series.values();
  }

  get size(): number {
    return this.series.size;
  }
}

export function addCounter(s: Series, metric: string, by: number): void {
  s.values.set(metric, ((s.values.get(metric) as number | undefined) ?? 0) + by);
}

/** The series' histogram for `metric`, created empty the first time. */
export function histogramIn(s: Series, metric: string, bounds: readonly number[]): Histogram {
  let h = s.values.get(metric) as Histogram | undefined;
  if (!h) { h = newHistogram(bounds); s.values.set(metric, h); }
  return h;
}

export function observeIn(s: Series, metric: string, bounds: readonly number[], v: number): void {
  observe(histogramIn(s, metric, bounds), v);
}
