// The proxy's own state as Prometheus metrics: which table is in force, refusals, in-flight
// work, plus the process's. Per-request metrics are telemetry subscribers that add their text.
import { EventLoopStalls } from '../../common/event-loop-stalls.ts';
import { heapReclaimer } from '../../common/heap-reclaim.ts';
import { processMetrics } from '../../common/process-metrics.ts';
import { metric } from '../../common/prometheus.ts';
import { upstreamSocketsOpened } from '../engine/connect.ts';
import type { ProxyCore } from '../engine/core.ts';
import { meshTlsCounts } from '../identity/mesh-tls-counts.ts';
import { relayGc } from '../engine/relay-gc.ts';

// Started when the proxy's admin side is loaded, so it covers the process from before its first
// table: a reload that holds the serving thread shows in these histograms (issue 15 item 5).
const stalls = new EventLoopStalls().start();

export function proxyMetrics(core: ProxyCore, mode: string, extra: readonly (() => string)[] = []): string {
  const t = core.holder.current;
  const labels = { mode };
  const text = metric('meshlet_proxy_inflight', 'gauge', 'Requests and tunnels in progress.', [{ labels, value: core.inflight.count }])
    + metric('meshlet_proxy_table_applied_timestamp_seconds', 'gauge', 'When the routing table in force was applied (0: none yet).', [{ labels, value: t ? t.appliedAt / 1000 : 0 }])
    + metric('meshlet_proxy_tables_rejected_total', 'counter', 'Routing tables refused by validation (the previous one stayed in force).', [{ labels, value: core.holder.rejected }])
    // The version (a content hash) says which table runs: compare across agents, or with the
    // controller's; its age is time() - meshlet_proxy_table_applied_timestamp_seconds.
    + metric('meshlet_proxy_table_info', 'gauge', 'The routing table in force, by version (1 while it is; no sample before the first).', t ? [{ labels: { ...labels, version: t.table.version }, value: 1 }] : []);
  return text + upstreamMetrics(core, labels) + connectionMetrics(labels) + extra.map((f) => f()).join('') + stalls.metrics() + reclaimMetrics() + processMetrics();
}

/** Retry budget refusals and connection pool state: is the proxy holding back, or saturated? */
function upstreamMetrics(core: ProxyCore, labels: Record<string, string>): string {
  const p = core.pools.stats();
  return metric('meshlet_proxy_retry_budget_exhausted_total', 'counter', 'Retries not sent because the retry budget of the route (its backend group) was spent.',
    core.budgets.exhaustion().map((e) => ({ labels: { ...labels, route: e.route }, value: e.count })))
    + metric('meshlet_proxy_upstream_connections', 'gauge', 'Open HTTP/1.1 connections to upstreams, carrying a request (active) or kept alive (idle).',
      [{ labels: { ...labels, state: 'active' }, value: p.active }, { labels: { ...labels, state: 'idle' }, value: p.idle }])
    + metric('meshlet_proxy_upstream_pending_requests', 'gauge', 'HTTP/1.1 requests waiting for a free upstream connection.', [{ labels, value: p.queued }])
    + metric('meshlet_proxy_upstream_h2_sessions', 'gauge', 'Open HTTP/2 sessions to upstreams (one per endpoint, multiplexed).', [{ labels, value: p.h2Sessions }])
    + metric('meshlet_proxy_upstream_resends_total', 'counter', 'Requests resent once on a fresh connection because the kept-alive connection they were written on closed before any response byte (the keep-alive race, ADR 0024).', [{ labels, value: core.pools.resends }]);
}

/** Connections opened and mesh TLS handshakes since start: reconnecting shows here (issue 16, ADR 0020). */
function connectionMetrics(labels: Record<string, string>): string {
  const h = meshTlsCounts;
  return metric('meshlet_proxy_upstream_connections_opened_total', 'counter', 'Connections to upstreams attempted (pools, HTTP/2 sessions, tunnels; refused ones too), by transport: mesh mTLS or plaintext. Process-wide: in meshlet dev, every proxy of the process.',
    [{ labels: { ...labels, transport: 'mtls' }, value: upstreamSocketsOpened.mtls }, { labels: { ...labels, transport: 'plaintext' }, value: upstreamSocketsOpened.plaintext }])
    + metric('meshlet_mesh_tls_handshakes_total', 'counter', 'Mesh mTLS handshakes completed, as client (outbound) or server (inbound), full or resumed with a session ticket. Process-wide: in meshlet dev, every proxy of the process.',
      [{ labels: { ...labels, side: 'client', session: 'full' }, value: h.clientFull }, { labels: { ...labels, side: 'client', session: 'resumed' }, value: h.clientResumed },
        { labels: { ...labels, side: 'server', session: 'full' }, value: h.serverFull }, { labels: { ...labels, side: 'server', session: 'resumed' }, value: h.serverResumed }]);
}

/** The memory-reducing GCs run after a big table was dropped (ADR 0016), and what they cost. */
function reclaimMetrics(): string {
  const r = heapReclaimer.stats;
  return metric('meshlet_heap_reclaims_total', 'counter', 'Full memory-reducing GCs run after a large routing table was replaced by a much smaller one.', r.runs)
    + metric('meshlet_heap_reclaim_pause_seconds_total', 'counter', 'Time the serving thread spent in those GCs.', r.pauseSeconds)
    + metric('meshlet_relay_scavenges_total', 'counter', 'Young-generation GCs run to free the read buffers of relayed bytes (one per 2 MB relayed, ADR 0012).', relayGc.runs);
}
