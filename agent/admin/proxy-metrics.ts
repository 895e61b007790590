// The proxy's own state as Prometheus metrics: which table is in force, refusals, in-flight
// work, plus the process's. Per-request metrics are telemetry subscribers that add their text.
import { processMetrics } from '../../common/process-metrics.ts';
import type { ProxyCore } from '../engine/core.ts';

export function proxyMetrics(core: ProxyCore, mode: string, extra: readonly (() => string)[] = []): string {
  const t = core.holder.current;
  const lines = [
    '# HELP meshlet_proxy_inflight Requests and tunnels in progress.',
    '# TYPE meshlet_proxy_inflight gauge',
    `meshlet_proxy_inflight{mode="${mode}"} ${core.inflight.count}`,
    '# HELP meshlet_proxy_table_applied_timestamp_seconds When the routing table in force was applied (0: none yet).',
    '# TYPE meshlet_proxy_table_applied_timestamp_seconds gauge',
    `meshlet_proxy_table_applied_timestamp_seconds{mode="${mode}"} ${t ? (t.appliedAt / 1000).toFixed(3) : 0}`,
    '# HELP meshlet_proxy_tables_rejected_total Routing tables refused by validation (the previous one stayed in force).',
    '# TYPE meshlet_proxy_tables_rejected_total counter',
    `meshlet_proxy_tables_rejected_total{mode="${mode}"} ${core.holder.rejected}`,
    '',
  ];
  return lines.join('\n') + extra.map((f) => f()).join('') + processMetrics();
}
