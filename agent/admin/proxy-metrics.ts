// The proxy's own state as Prometheus metrics: which table is in force, refusals, in-flight
// work, plus the process's. Per-request metrics are telemetry subscribers that add their text.
import { processMetrics } from '../../common/process-metrics.ts';
import { metric } from '../../common/prometheus.ts';
import type { ProxyCore } from '../engine/core.ts';

export function proxyMetrics(core: ProxyCore, mode: string, extra: readonly (() => string)[] = []): string {
  const t = core.holder.current;
  const labels = { mode };
  const text = metric('meshlet_proxy_inflight', 'gauge', 'Requests and tunnels in progress.', [{ labels, value: core.inflight.count }])
    + metric('meshlet_proxy_table_applied_timestamp_seconds', 'gauge', 'When the routing table in force was applied (0: none yet).', [{ labels, value: t ? t.appliedAt / 1000 : 0 }])
    + metric('meshlet_proxy_tables_rejected_total', 'counter', 'Routing tables refused by validation (the previous one stayed in force).', [{ labels, value: core.holder.rejected }])
    // The version (a content hash) says which table runs: compare across agents, or with the
    // controller's; its age is time() - meshlet_proxy_table_applied_timestamp_seconds.
    + metric('meshlet_proxy_table_info', 'gauge', 'The routing table in force, by version (1 while it is; no sample before the first).', t ? [{ labels: { ...labels, version: t.table.version }, value: 1 }] : []);
  return text + extra.map((f) => f()).join('') + processMetrics();
}
