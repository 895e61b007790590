// A proxy's Prometheus counters as a user's Prometheus scrapes them: GET /metrics on the admin
// port (15020) of the pod, from the node, summed by the labels a dashboard would group by.
import { PORTS } from '../../../api/names.ts';

export interface CounterSample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one counter in a Prometheus text exposition. */
export function counterSamples(text: string, metric: string): CounterSample[] {
  const out: CounterSample[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${metric}(?:\\{(.*)\\})? ([0-9.e+-]+)$`).exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

export async function scrape(podIp: string): Promise<string> {
  const res = await fetch(`http://${podIp}:${PORTS.admin}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${podIp}:${PORTS.admin}/metrics: ${res.status}`);
  return res.text();
}

/** meshlet_requests_total summed over the series whose labels include every one of `match`. */
export function requestsTotal(text: string, match: Record<string, string>): number {
  return counterSamples(text, 'meshlet_requests_total')
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
