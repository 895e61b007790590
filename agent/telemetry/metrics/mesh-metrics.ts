// The golden signals of every hop: a subscriber to request and tunnel ends that aggregates into
// capped series tables, and a render function for the admin port's /metrics.
import dc from 'node:diagnostics_channel';
import { metric } from '../../../common/prometheus.ts';
import { CHANNELS, type AttemptEvent, type RequestEvent, type TunnelEvent } from '../events.ts';
import type { Workload } from '../workload.ts';
import { REQUEST_LABELS, TCP_LABELS, hasRequestLabelInputs, inputsKey, requestLabelInputs, requestLabels, tunnelLabels, type RequestLabelInputs } from './labels.ts';
import { renderTable, type MetricSpec } from './render.ts';
import { DURATION_BUCKETS, SIZE_BUCKETS, SeriesTable, addCounter, histogramIn, observe, type Histogram, type Series } from './series.ts';

export const DEFAULT_MAX_SERIES = 2_000;
/** Label sets remembered by their inputs (a hop's inbound and outbound sides, a few routes or codes). */
const RECENT = 4;

const REQUEST_SPECS: MetricSpec[] = [
  { name: 'meshlet_requests_total', type: 'counter', help: 'Requests this proxy handled, by Istio standard labels.' },
  { name: 'meshlet_request_duration_seconds', type: 'histogram', help: 'Time from the request head to the end of the response.' },
  { name: 'meshlet_request_bytes', type: 'histogram', help: 'Request body sizes (Content-Length).' },
  { name: 'meshlet_response_bytes', type: 'histogram', help: 'Response body sizes.' },
];
const TCP_SPECS: MetricSpec[] = [
  { name: 'meshlet_tcp_connections_opened_total', type: 'counter', help: 'Opaque TCP and WebSocket tunnels opened.' },
  { name: 'meshlet_tcp_connections_closed_total', type: 'counter', help: 'Opaque TCP and WebSocket tunnels closed.' },
  { name: 'meshlet_tcp_sent_bytes_total', type: 'counter', help: 'Bytes sent from the client towards the upstream over tunnels.' },
  { name: 'meshlet_tcp_received_bytes_total', type: 'counter', help: 'Bytes received from the upstream over tunnels.' },
];

const UPSTREAM_SPECS: MetricSpec[] = [
  { name: 'meshlet_upstream_retries_total', type: 'counter', help: 'Retry attempts sent to a backend (attempts after the first of a request).' },
  { name: 'meshlet_upstream_mirror_requests_total', type: 'counter', help: 'Mirrored copies sent to a backend.' },
  { name: 'meshlet_upstream_mirror_failures_total', type: 'counter', help: 'Mirrored copies that got no answer (connect error, reset, timeout).' },
];

interface RequestSeries {
  series: Series;
  duration: Histogram;
  requestBytes: Histogram;
  responseBytes: Histogram;
}

export interface MeshMetrics {
  render: () => string;
  stop: () => void;
}

export function startMeshMetrics(self: Workload, maxSeries = DEFAULT_MAX_SERIES): MeshMetrics {
  const requests = new SeriesTable(REQUEST_LABELS, maxSeries);
  const tcp = new SeriesTable(TCP_LABELS, maxSeries);
  // Keyed by backend only (a name from the routing table), so bounded by configuration.
  const upstream = new SeriesTable(['backend'], maxSeries);

  // A request's series and histograms: first among the few label sets seen last, compared
  // field by field with nothing built (the steady state: a hop's sides, its routes and codes);
  // else by requestLabelsKey in a map of every set seen, and the labels derived on the first
  // request of a kind. Bounded like the table; series folded into "overflow" are kept in
  // neither, so each such sample is still counted.
  const bound = new Map<string, RequestSeries>();
  const recent: { inputs: RequestLabelInputs; b: RequestSeries }[] = [];
  let nextRecent = 0;
  const lookup = (ev: RequestEvent): RequestSeries => {
    const inputs = requestLabelInputs(ev);
    const key = inputsKey(inputs);
    let b = bound.get(key);
    if (b === undefined) {
      const overflowed = requests.overflowed;
      const series = requests.get(requestLabels(ev, self));
      b = {
        series,
        duration: histogramIn(series, 'meshlet_request_duration_seconds', DURATION_BUCKETS),
        requestBytes: histogramIn(series, 'meshlet_request_bytes', SIZE_BUCKETS),
        responseBytes: histogramIn(series, 'meshlet_response_bytes', SIZE_BUCKETS),
      };
      if (requests.overflowed !== overflowed) return b;
      if (bound.size >= maxSeries) bound.clear();
      bound.set(key, b);
    }
    recent[nextRecent] = { inputs, b };
    nextRecent = (nextRecent + 1) % RECENT;
    return b;
  };
  const onRequestEnd = (m: unknown): void => {
    const ev = m as RequestEvent;
    let b: RequestSeries | undefined;
    for (let i = 0; i < recent.length; i++) {
      const r = recent[i]!;
      if (hasRequestLabelInputs(ev, r.inputs)) { b = r.b; break; }
    }
    b ??= lookup(ev);
    addCounter(b.series, 'meshlet_requests_total', 1);
    observe(b.duration, Number(ev.endNs - ev.startNs) / 1e9);
    observe(b.requestBytes, ev.requestBytes);
    observe(b.responseBytes, ev.responseBytes);
    // Every attempt of a request goes to its one backend: the attempts after the first are its retries.
    if (ev.attempts > 1 && ev.backend !== null) addCounter(upstream.get({ backend: ev.backend }), 'meshlet_upstream_retries_total', ev.attempts - 1);
  };
  // Mirrored copies on their own channel: with no listener on attempts, the engine builds no
  // attempt event for the ordinary ones (retries are counted from the request, above).
  const onMirrorEnd = (m: unknown): void => {
    const at = m as AttemptEvent;
    const s = upstream.get({ backend: at.backend });
    addCounter(s, 'meshlet_upstream_mirror_requests_total', 1);
    if (at.error !== null) addCounter(s, 'meshlet_upstream_mirror_failures_total', 1);
  };
  // Opened is counted at start so a long-lived tunnel shows before it closes.
  const onTunnelStart = (m: unknown): void => {
    addCounter(tcp.get(tunnelLabels(m as TunnelEvent, self)), 'meshlet_tcp_connections_opened_total', 1);
  };
  const onTunnelEnd = (m: unknown): void => {
    const ev = m as TunnelEvent;
    const s = tcp.get(tunnelLabels(ev, self));
    addCounter(s, 'meshlet_tcp_connections_closed_total', 1);
    addCounter(s, 'meshlet_tcp_sent_bytes_total', ev.bytesIn);
    addCounter(s, 'meshlet_tcp_received_bytes_total', ev.bytesOut);
  };
  dc.subscribe(CHANNELS.requestEnd, onRequestEnd);
  dc.subscribe(CHANNELS.mirrorEnd, onMirrorEnd);
  dc.subscribe(CHANNELS.tunnelStart, onTunnelStart);
  dc.subscribe(CHANNELS.tunnelEnd, onTunnelEnd);

  return {
    render: () => renderTable(requests, REQUEST_SPECS) + renderTable(tcp, TCP_SPECS) + renderTable(upstream, UPSTREAM_SPECS)
      + metric('meshlet_metrics_series_overflow_total', 'counter', `Samples folded into the "overflow" series past the cap of ${maxSeries} series per table.`, requests.overflowed + tcp.overflowed + upstream.overflowed),
    stop: () => {
      dc.unsubscribe(CHANNELS.requestEnd, onRequestEnd);
      dc.unsubscribe(CHANNELS.mirrorEnd, onMirrorEnd);
      dc.unsubscribe(CHANNELS.tunnelStart, onTunnelStart);
      dc.unsubscribe(CHANNELS.tunnelEnd, onTunnelEnd);
    },
  };
}
