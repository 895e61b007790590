// How long a route change takes to reach the proxies, as each proxy itself reports it: its admin
// /config_dump gives the table in force and when it was applied (appliedAt, this machine's clock,
// the same one the test writes the change by), so the delay is exact however often we poll.
import { PORTS } from '../../../api/names.ts';

export interface ConfigDump {
  version: string | null;
  appliedAt: string | null;
  table: unknown;
}

export async function configDump(podIp: string): Promise<ConfigDump> {
  const res = await fetch(`http://${podIp}:${PORTS.admin}/config_dump`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${podIp}:${PORTS.admin}/config_dump: ${res.status}`);
  return (await res.json()) as ConfigDump;
}

/** Whether the table in force mentions text (a route's node name, a header value it sets). */
export const tableMentions = (dump: ConfigDump, text: string): boolean => JSON.stringify(dump.table ?? null).includes(text);

/** The p-th percentile (nearest rank) of samples, p in (0, 100]. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

/** A rule list for HTTPRoute: everything to backend:port, with a request header naming the revision. */
export function revisedRules(backend: string, port: number, revision: string): unknown[] {
  return [{
    filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-journey-revision', value: revision }] } }],
    backendRefs: [{ name: backend, port }],
  }];
}
