// Traces in a real Jaeger (v2, built by scripts/build-cluster-components.sh): a request through
// ingress → sidecar outbound → sidecar inbound → app, the agents on loopback in file mode as the
// integration tests run them, exporting OTLP/HTTP protobuf to Jaeger. Jaeger's query API must
// return one trace with a span per hop, each span's parent the hop before it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startTelemetry } from '../../agent/telemetry/index.ts';
import { startIngress, type RunningIngress } from '../../ingress/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import * as T from '../support/routing-tables.ts';
import type { ComponentProcess } from './box/component-process.ts';
import { locateComponents } from './box/components.ts';
import { startJaeger, type JaegerEndpoints } from './box/jaeger.ts';
import { parentOf, spanKind as kind, traceIdOf, waitForTrace } from './box/jaeger-query.ts';
import { freePorts } from './box/ports.ts';

const quiet = (): void => undefined;

let dir = '';
let jaeger: { process: ComponentProcess; endpoints: JaegerEndpoints } | null = null;
let jaegerProc: ComponentProcess | null = null;
let app: EchoServer;
let sidecar: RunningProxy;
let ingress: RunningIngress;
let inboundPort = -1;
let gatewayPort = -1;

before(async () => {
  const components = locateComponents();
  dir = mkdtempSync(join(tmpdir(), 'meshlet-jaeger-'));
  const [otlpHttp, otlpGrpc, queryHttp, queryGrpc] = (await freePorts(4, '127.0.0.1')) as [number, number, number, number];
  jaeger = await startJaeger({
    bin: components.bin.jaeger, logsDir: dir, configDir: dir, listenHost: '127.0.0.1',
    ports: { otlpHttp, otlpGrpc, queryHttp, queryGrpc }, timeoutMs: 60_000, register: (p) => { jaegerProc = p; },
  });
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
  await sidecar?.close();
  await ingress?.close();
  await app?.close();
  await (jaeger?.process ?? jaegerProc)?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('ingress → sidecar → sidecar → app is one trace in Jaeger, a span per hop, linked parent to child', async () => {
  // One process plays both agents here, so one telemetry instance exports for both (default protocol: http/protobuf).
  const tel = startTelemetry({
    role: 'sidecar', self: { name: 'reviews', namespace: 'default', pod: 'reviews-7d9c8-x2bqz', principal: '' },
    env: {}, metrics: false, accessLog: null, otlpEndpoint: jaeger!.endpoints.otlpUrl, defaultSamplingRatio: 1, log: quiet,
  });
  const res = await send({ port: gatewayPort, path: '/api/items', authority: 'shop.example.com' });
  await tel.shutdown();
  assert.equal(res.status, 200);
  const traceId = traceIdOf(res.echo!.headers.Traceparent![0]!);

  // Jaeger batches (100 ms) before the trace is queryable: poll, bounded in count and time.
  const trace = await waitForTrace(jaeger!.endpoints.queryUrl, traceId, 5);
  assert.ok(trace, `trace ${traceId} not found in Jaeger`);
  const spans = trace.spans;
  assert.equal(spans.length, 5, spans.map((s) => s.operationName).join(', '));
  assert.ok(spans.every((s) => s.traceID === traceId));
  const root = spans.filter((s) => parentOf(s) === undefined);
  assert.equal(root.length, 1, 'one root');
  const chain = [root[0]!];
  for (let i = 0; i < 4; i++) {
    const kids = spans.filter((s) => parentOf(s) === chain.at(-1)!.spanID);
    assert.equal(kids.length, 1, `children of ${chain.at(-1)!.operationName}`);
    chain.push(kids[0]!);
  }
  assert.deepEqual(chain.map((s) => [kind(s), s.operationName]), [
    ['server', 'GET /api'], ['client', 'GET /api'], ['client', 'GET /api'], ['server', 'GET'], ['client', 'GET'],
  ]);
  assert.equal(trace.processes[chain[0]!.processID]?.serviceName, 'reviews');
});
