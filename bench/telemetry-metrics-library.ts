// The hot-path cost of recording one request's metrics (a counter and three histograms under
// Istio's 13 labels) with meshlet's own series table versus the OpenTelemetry metrics SDK (the
// backend of its Prometheus exporter, with a pull reader as that exporter is). Both record the same event; rounds interleave the two and
// report the ratio within the round. prom-client is not a dependency: point PROM_CLIENT at an
// installed copy (`npm i --prefix /tmp/p prom-client`, PROM_CLIENT=/tmp/p/node_modules/prom-client)
// to include it. Usage: npx node bench/telemetry-metrics-library.ts [--quick]
import { createRequire } from 'node:module';
import type { RequestEvent } from '../agent/telemetry/events.ts';
import { requestLabels } from '../agent/telemetry/metrics/labels.ts';
import { DURATION_BUCKETS, SIZE_BUCKETS, SeriesTable, addCounter, observeIn } from '../agent/telemetry/metrics/series.ts';
import { REQUEST_LABELS } from '../agent/telemetry/metrics/labels.ts';
// Types only (erased): the package is imported at run time only when installed, in otel() below.
import type * as SdkMetrics from '@opentelemetry/sdk-metrics';

const quick = process.argv.includes('--quick');
const N = quick ? 50_000 : 300_000;
const ROUNDS = quick ? 3 : 7;
const self = { name: 'bench', namespace: 'default', pod: 'bench-0', principal: '' };
const CODES = [200, 200, 200, 201, 404, 503];
const events: RequestEvent[] = CODES.map((status) => ({
  site: 'outbound', method: 'GET', scheme: 'http', authority: 'r:9080', path: '/x', protocol: 'http/1.1', headers: {},
  remoteAddress: '127.0.0.1', startNs: 0n, rule: 'httproute/default/r/rule/0/match/0', routePath: '/', backend: 'service/default/r/9080',
  upstream: '10.0.0.1:9080', upstreamIdentity: null, peerIdentity: null, attempts: 1, status, requestBytes: 10, responseBytes: 300,
  endNs: 2_500_000n, error: null, grpcStatus: null,
}));

function ours(): () => void {
  const t = new SeriesTable(REQUEST_LABELS, 2000);
  let i = 0;
  return () => {
    const ev = events[i++ % events.length]!;
    const s = t.get(requestLabels(ev, self));
    addCounter(s, 'meshlet_requests_total', 1);
    observeIn(s, 'meshlet_request_duration_seconds', DURATION_BUCKETS, Number(ev.endNs - ev.startNs) / 1e9);
    observeIn(s, 'meshlet_request_bytes', SIZE_BUCKETS, ev.requestBytes);
    observeIn(s, 'meshlet_response_bytes', SIZE_BUCKETS, ev.responseBytes);
  };
}

// sdk-metrics is not a meshlet dependency (ADR 0009; today it comes with the OTLP exporters):
// measured when installed. A pull reader like the Prometheus exporter's, so records aggregate.
async function otel(): Promise<(() => void) | null> {
  let sdk: typeof SdkMetrics;
  try {
    sdk = await import('@opentelemetry/sdk-metrics');
  } catch {
    return null;
  }
  class PullReader extends sdk.MetricReader {
    protected onForceFlush(): Promise<void> { return Promise.resolve(); }
    protected onShutdown(): Promise<void> { return Promise.resolve(); }
  }
  const meter = new sdk.MeterProvider({ readers: [new PullReader()] }).getMeter('meshlet');
  const requests = meter.createCounter('meshlet_requests_total');
  const duration = meter.createHistogram('meshlet_request_duration_seconds', { advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
  const reqBytes = meter.createHistogram('meshlet_request_bytes', { advice: { explicitBucketBoundaries: SIZE_BUCKETS } });
  const resBytes = meter.createHistogram('meshlet_response_bytes', { advice: { explicitBucketBoundaries: SIZE_BUCKETS } });
  let i = 0;
  return () => {
    const ev = events[i++ % events.length]!;
    const attrs = requestLabels(ev, self);
    requests.add(1, attrs);
    duration.record(Number(ev.endNs - ev.startNs) / 1e9, attrs);
    reqBytes.record(ev.requestBytes, attrs);
    resBytes.record(ev.responseBytes, attrs);
  };
}

interface PromLike {
  Registry: new () => object;
  Counter: new (o: object) => { inc: (l: Record<string, string>, v: number) => void };
  Histogram: new (o: object) => { observe: (l: Record<string, string>, v: number) => void };
}

function promClient(): (() => void) | null {
  if (!process.env.PROM_CLIENT) return null;
  const prom = createRequire(import.meta.url)(process.env.PROM_CLIENT) as PromLike;
  const registers = [new prom.Registry()];
  const labelNames = [...REQUEST_LABELS];
  const requests = new prom.Counter({ name: 'meshlet_requests_total', help: 'h', labelNames, registers });
  const duration = new prom.Histogram({ name: 'meshlet_request_duration_seconds', help: 'h', labelNames, buckets: DURATION_BUCKETS, registers });
  const reqBytes = new prom.Histogram({ name: 'meshlet_request_bytes', help: 'h', labelNames, buckets: SIZE_BUCKETS, registers });
  const resBytes = new prom.Histogram({ name: 'meshlet_response_bytes', help: 'h', labelNames, buckets: SIZE_BUCKETS, registers });
  let i = 0;
  return () => {
    const ev = events[i++ % events.length]!;
    const l = requestLabels(ev, self);
    requests.inc(l, 1);
    duration.observe(l, Number(ev.endNs - ev.startNs) / 1e9);
    reqBytes.observe(l, ev.requestBytes);
    resBytes.observe(l, ev.responseBytes);
  };
}

function nsPerOp(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - t0) / N;
}

const a = ours();
const b = await otel();
const c = promClient();
nsPerOp(a); if (b) nsPerOp(b); if (c) nsPerOp(c); // warm up
const otelRatios: number[] = [];
const promRatios: number[] = [];
const median = (xs: number[]): string => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!.toFixed(2);
for (let r = 0; r < ROUNDS; r++) {
  const x = nsPerOp(a);
  const y = b ? nsPerOp(b) : NaN;
  const z = c ? nsPerOp(c) : NaN;
  if (b) otelRatios.push(y / x);
  if (c) promRatios.push(z / x);
  console.log(`round ${r + 1}: own ${x.toFixed(0)} ns/request, ${b ? `OTel SDK ${y.toFixed(0)} (${(y / x).toFixed(2)}×)` : ''}${c ? `, prom-client ${z.toFixed(0)} (${(z / x).toFixed(2)}×)` : ''}`);
}
console.log(`median ratio to own: ${b ? `OTel SDK ${median(otelRatios)}×` : 'OTel SDK not installed'}${c ? `, prom-client ${median(promRatios)}×` : ' (prom-client not measured: set PROM_CLIENT)'}`);
