// Prometheus text for a SeriesTable: counters as-is, histograms as cumulative `_bucket{le}`
// plus `_sum` and `_count`. Written here rather than with prom-client because the samples
// are already aggregated per series by the subscriber (one Map lookup per request), and
// common/prometheus.ts already escapes label values for the rest of the admin port.
import type { Histogram, SeriesTable } from './series.ts';

export interface MetricSpec {
  name: string;
  type: 'counter' | 'histogram';
  help: string;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Record<string, string>, extra?: string): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function histogramLines(name: string, labels: Record<string, string>, h: Histogram, out: string[]): void {
  let acc = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    acc += h.counts[i]!;
    out.push(`${name}_bucket${labelText(labels, `le="${h.bounds[i]}"`)} ${acc}`);
  }
  out.push(`${name}_bucket${labelText(labels, 'le="+Inf"')} ${h.count}`);
  out.push(`${name}_sum${labelText(labels)} ${h.sum}`);
  out.push(`${name}_count${labelText(labels)} ${h.count}`);
}

export function renderTable(table: SeriesTable, specs: readonly MetricSpec[]): string {
  const out: string[] = [];
  for (const spec of specs) {
    out.push(`# HELP ${spec.name} ${spec.help}`, `# TYPE ${spec.name} ${spec.type}`);
    for (const s of table.all()) {
      const v = s.values.get(spec.name);
      if (v === undefined) continue;
      if (typeof v === 'number') out.push(`${spec.name}${labelText(s.labels)} ${v}`);
      else histogramLines(spec.name, s.labels, v, out);
    }
  }
  return `${out.join('\n')}\n`;
}
