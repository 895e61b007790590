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
