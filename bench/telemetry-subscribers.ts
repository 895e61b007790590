// CPU per request of the telemetry subscribers alone, in process: the events one sidecar hop
// publishes (request start, one attempt, request end) are built and published N times with
// (a) the metrics subscriber, (b) the tracer at 1 % (every request unsampled: the common case in
// a cluster), (c) nobody subscribed (the events alone). Rounds alternate; with `--against DIR`
// the other checkout's subscribers run in the same rounds (the channels are process-wide, so
// one tree's subscribers at a time). Complements telemetry-cost.ts, whose whole-proxy figure
// is too noisy on a shared machine to see a few µs.
// Usage: npx node bench/telemetry-subscribers.ts [--against DIR] [--rounds N]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// Types only: each tree's modules are loaded by path below (this tree's and --against's).
import type * as BuildEvents from '../agent/telemetry/build-events.ts';
import type * as Events from '../agent/telemetry/events.ts';
import type * as MeshMetrics from '../agent/telemetry/metrics/mesh-metrics.ts';
import type * as Tracer from '../agent/telemetry/tracing/tracer.ts';

const arg = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i < 0 ? undefined : process.argv[i + 1]; };
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const trees: [string, string][] = [['this', here]];
const against = arg('--against');
if (against) trees.push(['against', path.resolve(against)]);
const rounds = Number(arg('--rounds') ?? 7);
const N = 200_000;

interface Tree {
  build: typeof BuildEvents;
  events: typeof Events;
  metrics: typeof MeshMetrics;
  tracer: typeof Tracer;
}
const loaded = new Map<string, Tree>();
for (const [name, dir] of trees) {
  loaded.set(name, {
    build: await import(path.join(dir, 'agent/telemetry/build-events.ts')) as Tree['build'],
    events: await import(path.join(dir, 'agent/telemetry/events.ts')) as Tree['events'],
    metrics: await import(path.join(dir, 'agent/telemetry/metrics/mesh-metrics.ts')) as Tree['metrics'],
    tracer: await import(path.join(dir, 'agent/telemetry/tracing/tracer.ts')) as Tree['tracer'],
  });
}
const { trace } = await import('@opentelemetry/api');
const { resourceFromAttributes } = await import('@opentelemetry/resources');
// Where sampled spans go: this tree's tracer takes a span sink (span-record.ts), older trees an
// API tracer; one object serves both (the no-op tracer under the sink's fields). Nothing is kept.
const spans = Object.assign(Object.create(trace.getTracer('bench')) as object, { resource: resourceFromAttributes({}), scope: { name: 'bench' }, end: () => undefined }) as never;

const self = { name: 'reviews', namespace: 'shop', pod: 'reviews-7d9c8-x2bqz', principal: 'spiffe://cluster.local/ns/shop/sa/reviews' };
const out = { method: 'GET', url: '/api/x?y=1', headers: { host: 'svc:9080', 'user-agent': 'curl' }, httpVersion: '1.1', httpVersionMajor: 1, socket: { remoteAddress: '127.0.0.1' } };
// The inbound hop of the same call: the caller's sidecar sent its unsampled traceparent.
const inb = { ...out, headers: { ...out.headers, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' } };

function hops(t: Tree): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const odd = (i & 1) === 1;
    const ev = t.build.startRequestEvent(odd ? 'inbound' : 'outbound', 'http', (odd ? inb : out) as never);
    ev.rule = `httproute/shop/svc/rule/${i % 3}`;
    const at = t.build.startAttemptEvent(ev, 1, false, 'service/shop/svc/9080', { address: '10.0.0.7', port: 9080 },
      { method: 'GET', authority: 'svc:9080', pathAndQuery: '/api/x?y=1', headers: { 'user-agent': 'curl' } });
    // null when nobody listens to attempts (this tree with the metrics alone)
    if (at) t.build.endAttemptEvent(at, 200, null);
    t.events.endRequest(ev, i % 7 === 0 ? 503 : 200, null);
  }
  return Number(process.hrtime.bigint() - t0) / N;
}

const CASES = ['events alone', 'metrics', 'tracer, 1 %'] as const;
const results = new Map<string, number[]>();
for (let r = 0; r < rounds + 1; r++) {
  for (const [name] of r % 2 ? [...trees].reverse() : trees) {
    const t = loaded.get(name)!;
    for (const c of CASES) {
      const stop = c === 'metrics' ? t.metrics.startMeshMetrics(self).stop
        : c === 'tracer, 1 %' ? t.tracer.startRequestTracer(spans, { parentBased: true, ratio: 0.01 }).stop
          : () => undefined;
      const ns = hops(t);
      stop();
      if (r > 0) results.set(`${name}|${c}`, [...(results.get(`${name}|${c}`) ?? []), ns]); // round 0 warms up
    }
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`| subscriber | ns per hop-request, this tree (median of ${rounds}) |${against ? ' against | this / against, median [min–max] |' : ''}`);
console.log(`|---|---|${against ? '---|---|' : ''}`);
for (const c of CASES) {
  const mine = results.get(`this|${c}`)!;
  const theirs = results.get(`against|${c}`);
  const ratios = theirs ? mine.map((m, i) => m / theirs[i]!) : [];
  console.log(`| ${c} | ${median(mine).toFixed(0)} |${theirs ? ` ${median(theirs).toFixed(0)} | ${median(ratios).toFixed(2)}× [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}] |` : ''}`);
}
