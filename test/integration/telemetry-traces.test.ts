// Traces end to end on loopback: a request through ingress → sidecar outbound → sidecar inbound
// → app reaches an OTLP/HTTP receiver as one trace with a span per hop, B3 goes in and comes
// out, unsampled requests export nothing, and a dead collector costs no request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startTelemetry, type TelemetryConfig } from '../../agent/telemetry/index.ts';
import { startIngress, type RunningIngress } from '../../ingress/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { decodeTraceRequest } from '../support/otlp-protobuf.ts';
import * as T from '../support/routing-tables.ts';

const quiet = (): void => undefined;

interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}
interface Collector { url: string; spans: OtlpSpan[]; posts: { contentType: string; bytes: number; path: string; auth: string }[]; resources: Record<string, unknown>[]; close: () => Promise<void> }

/** An OTLP/HTTP receiver: decodes the JSON and protobuf protocols, records what every POST looked like. */
async function startCollector(): Promise<Collector> {
  const c: Omit<Collector, 'url' | 'close'> = { spans: [], posts: [], resources: [] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      c.posts.push({ contentType: req.headers['content-type'] ?? '', bytes: body.length, path: req.url ?? '', auth: req.headers.authorization ?? '' });
      const type = req.headers['content-type'];
      if (req.url?.endsWith('/traces') && (type === 'application/json' || type === 'application/x-protobuf')) {
        const msg = (type === 'application/json' ? JSON.parse(body.toString()) : decodeTraceRequest(body)) as { resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const rs of msg.resourceSpans) {
          c.resources.push(Object.fromEntries(rs.resource.attributes.map((a) => [a.key, Object.values(a.value)[0]])));
          for (const ss of rs.scopeSpans) c.spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' }).end(req.headers['content-type'] === 'application/json' ? '{}' : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { ...c, url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

function attr(s: OtlpSpan, key: string): unknown {
  const a = s.attributes.find((x) => x.key === key);
  return a ? Object.values(a.value)[0] : undefined;
}

const SERVER = 2;
const CLIENT = 3;

// Both protocols: http/protobuf (the default: meshlet's encoder and span queue) and http/json
// (the SDK's batch processor and JSON exporter).
for (const protocol of ['http/protobuf', 'http/json'] as const) describe(`telemetry: traces over OTLP/HTTP (${protocol})`, () => {
  let app: EchoServer;
  let sidecar: RunningProxy;
  let ingress: RunningIngress;
  let collector: Collector;
  let inboundPort = -1;
  let gatewayPort = -1;

  const config = (over: Partial<TelemetryConfig> = {}): TelemetryConfig => ({
    role: 'sidecar', self: { name: 'reviews', namespace: 'default', pod: 'reviews-7d9c8-x2bqz', principal: '' },
    env: { OTEL_EXPORTER_OTLP_PROTOCOL: protocol }, metrics: false, accessLog: null, otlpEndpoint: collector.url,
    defaultSamplingRatio: 1, log: quiet, ...over,
  });

  before(async () => {
    collector = await startCollector();
    app = await startEchoServer({ pod: 'reviews-0', namespace: 'default' });
    const source = new ManualTableSource();
    sidecar = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, detectTimeoutMs: 100,
      originalDestination: (socket) => (socket.localPort === inboundPort ? { address: '127.0.0.1', port: app.port } : { address: '10.96.0.9', port: 9080 }),
    });
    inboundPort = sidecar.ports.inbound!;
    const be = T.backend('default', 'reviews', 9080, [{ port: inboundPort }]);
    source.push(T.table({
      backends: [be],
      services: [T.service({ name: 'reviews', clusterIP: '10.96.0.9', port: 9080, rules: [
        T.rule({ route: 'reviews', path: { type: 'PathPrefix', value: '/api' }, backends: [{ backend: be.name }] }),
      ] })],
    }));
    // The ingress's backend is the sidecar's outbound port: the hop a meshed ingress makes.
    const gwSource = new ManualTableSource(T.table({
      backends: [T.backend('default', 'web', 80, [{ port: sidecar.ports.outbound! }])],
      gateways: [T.gateway({ name: 'public', port: 80, listeners: [{ name: 'http', hostname: null, vhosts: [{ hostname: '*', rules: [
        T.rule({ route: 'web', path: { type: 'PathPrefix', value: '/api' }, backends: [{ backend: T.backendName('default', 'web', 80) }] }),
      ] }] }] })],
    }));
    ingress = await startIngress({ source: gwSource, host: '127.0.0.1', bindPort: () => 0, adminPort: 0, log: quiet });
    gatewayPort = ingress.listenerPorts().get(80)!;
  });
  after(async () => {
    await sidecar.close();
    await ingress.close();
    await app.close();
    await collector.close();
  });

  test('ingress → sidecar → sidecar → app is one trace: a span per hop, linked parent to child', async () => {
    collector.spans.length = 0;
    const tel = startTelemetry(config());
    const res = await send({ port: gatewayPort, path: '/api/items?id=7', authority: 'shop.example.com', headers: { 'user-agent': 'curl/8' } });
    await tel.shutdown();
    assert.equal(res.status, 200);
    const spans = collector.spans;
    assert.equal(spans.length, 5, spans.map((s) => `${s.kind} ${s.name}`).join(', '));
    assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace');
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const root = spans.find((s) => !s.parentSpanId)!;
    // Walk down from the root: each span's only child is the next hop.
    const chain = [root];
    for (let i = 0; i < 4; i++) {
      const kids = spans.filter((s) => s.parentSpanId === chain.at(-1)!.spanId);
      assert.equal(kids.length, 1, `children of ${chain.at(-1)!.name}`);
      chain.push(kids[0]!);
    }
    assert.deepEqual(chain.map((s) => [s.kind, s.name]), [
      [SERVER, 'GET /api'], // ingress receives
      [CLIENT, 'GET /api'], // ingress → outbound sidecar
      [CLIENT, 'GET /api'], // outbound sidecar → inbound sidecar
      [SERVER, 'GET'], // inbound sidecar receives (no rule: direct to the app)
      [CLIENT, 'GET'], // inbound sidecar → app
    ]);
    assert.ok(chain.every((s) => byId.has(s.parentSpanId ?? s.spanId)));
    assert.equal(attr(root, 'http.request.method'), 'GET');
    assert.equal(attr(root, 'url.path'), '/api/items');
    assert.equal(attr(root, 'server.address'), 'shop.example.com');
    assert.equal(attr(root, 'user_agent.original'), 'curl/8');
    assert.equal(attr(root, 'http.response.status_code'), 200);
    assert.equal(attr(root, 'meshlet.route'), 'httproute/default/web/rule/0/match/0');
    assert.equal(attr(chain[2]!, 'meshlet.backend'), 'service/default/reviews/9080');
    assert.equal(attr(chain[2]!, 'meshlet.upstream'), `127.0.0.1:${inboundPort}`);
    assert.equal(attr(chain[2]!, 'meshlet.retry.attempt'), 1);
    assert.ok(spans.every((s) => (s.status?.code ?? 0) !== 2), 'no error status on a 200');
    assert.equal(collector.resources[0]!['service.name'], 'reviews');
    assert.equal(collector.resources[0]!['k8s.namespace.name'], 'default');
    assert.equal(collector.resources[0]!['meshlet.role'], 'sidecar');
    // The app sees the trace context of the last CLIENT span, and the ingress set x-request-id.
    assert.equal(res.echo!.headers.Traceparent![0], `00-${root.traceId}-${chain[4]!.spanId}-01`);
    assert.match(res.echo!.headers['X-Request-Id']![0]!, /^[0-9a-f-]{36}$/);
  });

  test('error status: SERVER on 5xx, CLIENT on ≥ 400', async () => {
    collector.spans.length = 0;
    const tel = startTelemetry(config());
    const res = await send({ port: sidecar.ports.outbound!, path: '/api/x', authority: 'reviews:9080', headers: { 'x-echo-status': '503' } });
    await tel.shutdown();
    assert.equal(res.status, 503);
    const server = collector.spans.filter((s) => s.kind === SERVER);
    const client = collector.spans.filter((s) => s.kind === CLIENT);
    assert.ok(server.length >= 1 && client.length >= 1);
    assert.ok(server.every((s) => s.status?.code === 2), 'SERVER spans are errors on 503');
    assert.ok(client.every((s) => s.status?.code === 2), 'CLIENT spans are errors on 503');

    collector.spans.length = 0;
    const tel2 = startTelemetry(config());
    await send({ port: sidecar.ports.outbound!, path: '/api/x', authority: 'reviews:9080', headers: { 'x-echo-status': '404' } });
    await tel2.shutdown();
    assert.ok(collector.spans.filter((s) => s.kind === SERVER).every((s) => s.status?.code !== 2), 'a 404 is not a server error');
    assert.ok(collector.spans.filter((s) => s.kind === CLIENT).every((s) => s.status?.code === 2), 'a 404 is a client error');
  });

  test('B3 in: traceparent and B3 (same form) out, same trace; the app\'s context is the parent', async () => {
    for (const [headers, form] of [
      [{ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' }, 'single'],
      [{ 'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-sampled': '1' }, 'multi'],
    ] as const) {
      collector.spans.length = 0;
      const tel = startTelemetry(config());
      const res = await send({ port: sidecar.ports.outbound!, path: '/api/b3', authority: 'reviews:9080', headers });
      await tel.shutdown();
      const seen = res.echo!.headers;
      assert.match(seen.Traceparent![0]!, /^00-80f198ee56343ba864fe8b2a57d3eff7-[0-9a-f]{16}-01$/, form);
      if (form === 'single') {
        assert.match(seen.B3![0]!, /^80f198ee56343ba864fe8b2a57d3eff7-[0-9a-f]{16}-1$/);
        assert.equal(seen['X-B3-Traceid'], undefined);
      } else {
        assert.deepEqual(seen['X-B3-Traceid'], ['80f198ee56343ba864fe8b2a57d3eff7']);
        assert.equal(seen.B3, undefined);
      }
      const outbound = collector.spans.find((s) => s.parentSpanId === 'e457b5a2e4d86bd1');
      assert.ok(outbound, `${form}: the outbound CLIENT span is a child of the app's span`);
      assert.equal(outbound.kind, CLIENT);
      assert.ok(collector.spans.every((s) => s.traceId === '80f198ee56343ba864fe8b2a57d3eff7'));
    }
  });

  test('unsampled: nothing is exported, the "no" is passed on', async () => {
    collector.spans.length = 0;
    collector.posts.length = 0;
    const tel = startTelemetry(config({ defaultSamplingRatio: 0 }));
    const root = await send({ port: gatewayPort, path: '/api/quiet', authority: 'shop.example.com' });
    const child = await send({ port: sidecar.ports.outbound!, path: '/api/quiet', authority: 'reviews:9080',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' } });
    await tel.shutdown();
    assert.equal(collector.spans.length, 0);
    assert.match(root.echo!.headers.Traceparent![0]!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.equal(child.echo!.headers.Traceparent![0], '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
  });

  test('http/protobuf (the default) posts protobuf to /v1/traces', async () => {
    collector.posts.length = 0;
    const tel = startTelemetry(config({ env: {} }));
    await send({ port: sidecar.ports.outbound!, path: '/api/proto', authority: 'reviews:9080' });
    await tel.shutdown();
    assert.ok(collector.posts.some((p) => p.contentType === 'application/x-protobuf' && p.bytes > 100), JSON.stringify(collector.posts));
  });

  test('settings from the OTEL_* env alone: endpoint, headers, service name, resource, propagators', async () => {
    collector.spans.length = 0;
    collector.posts.length = 0;
    collector.resources.length = 0;
    const tel = startTelemetry(config({ otlpEndpoint: null, env: {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/otel/v1/traces`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20t0k', OTEL_SERVICE_NAME: 'reviews-svc',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging', OTEL_PROPAGATORS: 'b3',
    } }));
    assert.match(tel.tracing ?? '', /\/otel\/v1\/traces \(http\/json\)/);
    const res = await send({ port: sidecar.ports.outbound!, path: '/api/env', authority: 'reviews:9080',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    await tel.shutdown();
    assert.equal(res.status, 200);
    assert.ok(collector.posts.some((p) => p.path === '/otel/v1/traces' && p.auth === 'Bearer t0k'), JSON.stringify(collector.posts));
    assert.equal(collector.resources[0]!['service.name'], 'reviews-svc');
    assert.equal(collector.resources[0]!['deployment.environment'], 'staging');
    // b3 only: the caller's traceparent is not read (a new trace starts) and B3 single is what the app sees.
    assert.equal(res.echo!.headers.Traceparent, undefined);
    assert.match(res.echo!.headers.B3![0]!, /^[0-9a-f]{32}-[0-9a-f]{16}-1$/);
    assert.ok(collector.spans.length > 0 && collector.spans.every((s) => s.traceId !== '0af7651916cd43dd8448eb211c80319c'));
  });

  test('a collector slower than traffic: the queue stays bounded, drops are counted, requests unaffected', async () => {
    // Takes each export and answers none until the four requests are done: the first export is
    // in flight throughout and the queue fills behind it. (An export timeout of 300 ms, as here
    // before, let that export give up on a loaded machine while the requests were still going,
    // and the queue took more spans: the collector was then not slower than the traffic.)
    const held: http.ServerResponse[] = [];
    let answering = false;
    const answer = (res: http.ServerResponse): void => {
      res.writeHead(200, { 'content-type': protocol === 'http/json' ? 'application/json' : 'application/x-protobuf' }).end(protocol === 'http/json' ? '{}' : '');
    };
    const stuck = http.createServer((req, res) => {
      req.resume();
      if (answering) answer(res);
      else held.push(res);
    });
    await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(stuck.address() as AddressInfo).port}`;
    // Timeouts far beyond the test's length: the export ends when the collector answers, not by a clock.
    const tel = startTelemetry(config({ otlpEndpoint: url, env: {
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_TIMEOUT: '120000', OTEL_BSP_EXPORT_TIMEOUT: '120000', OTEL_BSP_MAX_QUEUE_SIZE: '2', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
    } }));
    for (let i = 0; i < 4; i++) assert.equal((await send({ port: sidecar.ports.outbound!, path: '/api/slow', authority: 'reviews:9080' })).status, 200);
    const dropped = Number(/meshlet_trace_spans_dropped_total (\d+)/.exec(tel.metrics())?.[1]);
    answering = true;
    for (const res of held.splice(0)) answer(res);
    await tel.shutdown();
    stuck.closeAllConnections();
    await new Promise((r) => stuck.close(r));
    // 4 requests × 4 spans; 2 went out in the stuck export and at most 2 more fit the queue.
    assert.ok(dropped >= 12, `dropped ${dropped}`);
  });

  test('a dead collector loses no request and is counted', async () => {
    const dead = await startCollector();
    await dead.close();
    const tel = startTelemetry(config({ otlpEndpoint: dead.url, env: { OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_TIMEOUT: '300' } }));
    for (let i = 0; i < 5; i++) assert.equal((await send({ port: sidecar.ports.outbound!, path: '/api/dead', authority: 'reviews:9080' })).status, 200);
    await tel.shutdown();
    assert.match(tel.metrics(), /meshlet_trace_spans_failed_total [1-9]/);
  });
});
