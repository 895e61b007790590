// Prometheus text exposition (version 0.0.4) for the handful of counters and gauges each part
// of meshlet reports: one HELP, one TYPE, then the samples. Label values are escaped as the
// format requires, so a value from a request (a route name) cannot break the exposition.
export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function metric(name: string, type: MetricType, help: string, samples: number | Sample[]): string {
  const list = typeof samples === 'number' ? [{ value: samples }] : samples;
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const s of list) {
    const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',') : '';
    lines.push(`${name}${labels ? `{${labels}}` : ''} ${s.value}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A histogram with fixed upper bounds and cumulative buckets, as Prometheus reads them (the
 * stall sampler's and the GC durations'): `metric()` writes counters and gauges only.
 */
export class BucketHistogram {
  readonly counts: number[];
  count = 0;
  sum = 0;
  readonly bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++;
  }

  /** The sample lines (`_bucket`, `_sum`, `_count`); `labels` (e.g. `kind="minor"`) go beside `le`. */
  lines(name: string, labels = ''): string[] {
    const withLe = labels === '' ? '' : `,${labels}`;
    const own = labels === '' ? '' : `{${labels}}`;
    return [
      ...this.bounds.map((le, i) => `${name}_bucket{le="${le}"${withLe}} ${this.counts[i]!}`),
      `${name}_bucket{le="+Inf"${withLe}} ${this.count}`,
      `${name}_sum${own} ${this.sum.toFixed(6)}`,
      `${name}_count${own} ${this.count}`,
    ];
  }
}
