// agent/telemetry/metrics: Prometheus request and TCP metrics with Istio's standard labels,
// aggregated from the data plane's diagnostics-channel events into capped series tables and
// rendered as text for the admin port's /metrics.
export { startMeshMetrics, DEFAULT_MAX_SERIES, type MeshMetrics } from './mesh-metrics.ts';
export { requestLabels, tunnelLabels, serviceOf, REQUEST_LABELS, TCP_LABELS, type Labels } from './labels.ts';
export { SeriesTable, DURATION_BUCKETS, SIZE_BUCKETS, observe, newHistogram } from './series.ts';
export { renderTable } from './render.ts';
