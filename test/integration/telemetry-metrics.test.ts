// /metrics and access logs from live traffic: the admin port serves the request counters with
// Istio's labels, a histogram that adds up, the series cap with its overflow counter, and one
// access log line per request in json and text, carrying the trace ID.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startTelemetry, type Telemetry, type TelemetryConfig } from '../../agent/telemetry/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import * as T from '../support/routing-tables.ts';
import { parsePrometheus as parse } from '../support/prometheus-text.ts';

const quiet = (): void => undefined;


async function scrape(port: number): Promise<string> {
  const res = await send({ port, path: '/metrics' });
  assert.equal(res.status, 200);
  return res.text;
}

describe('telemetry: metrics and access logs', () => {
  let app: EchoServer;
  let sidecar: RunningProxy;
  let telemetry: Telemetry | null = null;
  let render: () => string = () => '';
  let inboundPort = -1;
  const config = (over: Partial<TelemetryConfig>): TelemetryConfig => ({
    role: 'sidecar', self: { name: 'reviews', namespace: 'default', pod: 'reviews-7d9c8-x2bqz', principal: '' },
    env: {}, metrics: true, accessLog: null, otlpEndpoint: null, defaultSamplingRatio: 1, log: quiet, ...over,
  });

  before(async () => {
    app = await startEchoServer({ pod: 'reviews-0', namespace: 'default' });
    const source = new ManualTableSource();
    sidecar = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, detectTimeoutMs: 100,
      originalDestination: (socket) => (socket.localPort === inboundPort ? { address: '127.0.0.1', port: app.port } : { address: '10.96.0.9', port: 9080 }),
      // The admin port asks for the telemetry of the moment: each test starts its own.
      metrics: [() => render()],
    });
    inboundPort = sidecar.ports.inbound!;
    const be = T.backend('default', 'reviews', 9080, [{ port: inboundPort }]);
    source.push(T.table({
      backends: [be],
      services: [T.service({ name: 'reviews', clusterIP: '10.96.0.9', port: 9080, rules: [
        // Table order is match order (the controller sorts by precedence): the longer prefix first.
        T.rule({ route: 'reviews', index: 1, path: { type: 'PathPrefix', value: '/retry' }, backends: [{ backend: be.name }], retry: { codes: [503], attempts: 2, backoffMs: 1 } }),
        T.rule({ route: 'reviews', path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: be.name }] }),
      ] })],
    }));
  });
  after(async () => {
    await telemetry?.shutdown();
    await sidecar.close();
    await app.close();
  });

  async function use(c: TelemetryConfig): Promise<void> {
    await telemetry?.shutdown();
    telemetry = startTelemetry(c);
    render = telemetry.metrics;
  }

  test('/metrics counts requests per hop with Istio labels; the histogram adds up', async () => {
    await use(config({}));
    for (let i = 0; i < 3; i++) await send({ port: sidecar.ports.outbound!, path: `/users/${i}`, method: 'POST', body: 'hello', authority: 'reviews:9080' });
    await send({ port: sidecar.ports.outbound!, path: '/x', authority: 'reviews:9080', headers: { 'x-echo-status': '503' } });
    const samples = parse(await scrape(sidecar.ports.admin!));
    const reqs = samples.filter((s) => s.name === 'meshlet_requests_total');
    const find = (reporter: string, code: string): number | undefined => reqs.find((s) => s.labels.reporter === reporter && s.labels.response_code === code)?.value;
    assert.equal(find('source', '200'), 3);
    assert.equal(find('destination', '200'), 3);
    assert.equal(find('source', '503'), 1);
    assert.equal(find('destination', '503'), 1);
    const out = reqs.find((s) => s.labels.reporter === 'source' && s.labels.response_code === '200')!.labels;
    assert.deepEqual(out, {
      reporter: 'source', source_workload: 'reviews', source_namespace: 'default', source_principal: 'unknown',
      destination_workload: 'unknown', destination_namespace: 'unknown', destination_service: 'reviews.default.svc.cluster.local',
      destination_principal: 'unknown', request_protocol: 'http', response_code: '200', grpc_response_status: '',
      connection_security_policy: 'none', route: 'httproute/default/reviews/rule/0/match/0',
    });
    assert.ok(!reqs.some((s) => Object.values(s.labels).some((v) => v.includes('/users/'))), 'no path in labels');
    const count = samples.find((s) => s.name === 'meshlet_request_duration_seconds_count' && s.labels.reporter === 'source' && s.labels.response_code === '200');
    const inf = samples.find((s) => s.name === 'meshlet_request_duration_seconds_bucket' && s.labels.reporter === 'source' && s.labels.response_code === '200' && s.labels.le === '+Inf');
    assert.equal(count?.value, 3);
    assert.equal(inf?.value, 3);
    const bytes = samples.find((s) => s.name === 'meshlet_request_bytes_sum' && s.labels.reporter === 'source' && s.labels.response_code === '200');
    assert.equal(bytes?.value, 15, '3 × 5 bytes');
  });

  test('gRPC: grpc_response_status carries the status the app answered with', async () => {
    await use(config({}));
    // A trailers-only reply over HTTP/1.1: grpc-status arrives in the response headers.
    const res = await send({ port: sidecar.ports.outbound!, path: '/pkg.Svc/Get', method: 'POST', body: 'x', authority: 'reviews:9080',
      headers: { 'content-type': 'application/grpc', 'x-echo-set-header': 'grpc-status: 5' } });
    assert.equal(res.status, 200);
    const reqs = parse(await scrape(sidecar.ports.admin!)).filter((s) => s.name === 'meshlet_requests_total' && s.labels.request_protocol === 'grpc');
    assert.deepEqual(reqs.map((s) => [s.labels.reporter, s.labels.grpc_response_status, s.value]).sort(), [['destination', '5', 1], ['source', '5', 1]]);
  });

  test('retries are counted per backend; first attempts are not', async () => {
    await use(config({}));
    await send({ port: sidecar.ports.outbound!, path: '/retry/a', authority: 'reviews:9080', headers: { 'x-echo-status': '503' } });
    await send({ port: sidecar.ports.outbound!, path: '/retry/b', authority: 'reviews:9080' });
    const samples = parse(await scrape(sidecar.ports.admin!));
    const retries = samples.filter((s) => s.name === 'meshlet_upstream_retries_total');
    assert.deepEqual(retries.map((s) => [s.labels.backend, s.value]), [['service/default/reviews/9080', 2]], 'a 503 retried twice; a 200 not at all');
    assert.ok(samples.some((s) => s.name === 'meshlet_requests_total'), 'beside the request metrics');
  });

  test('past the series cap, new label sets are folded into "overflow" and counted', async () => {
    await use(config({ maxSeries: 2 }));
    for (const code of ['200', '201', '202', '203']) await send({ port: sidecar.ports.outbound!, path: '/', authority: 'reviews:9080', headers: { 'x-echo-status': code } });
    const samples = parse(await scrape(sidecar.ports.admin!));
    const reqs = samples.filter((s) => s.name === 'meshlet_requests_total');
    assert.equal(reqs.length, 3, 'two series and the overflow one');
    const overflow = reqs.find((s) => s.labels.reporter === 'overflow');
    assert.equal(overflow?.value, 6, '8 requests seen (two hops each), 2 in their own series');
    assert.equal(samples.find((s) => s.name === 'meshlet_metrics_series_overflow_total')?.value, 6);
  });

  for (const format of ['json', 'text'] as const) {
    test(`access log (${format}): one line per request with the trace ID`, async () => {
      const chunks: string[] = [];
      await use(config({ metrics: false, accessLog: format, writeAccessLog: (c) => chunks.push(c) }));
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      await send({ port: sidecar.ports.outbound!, path: '/logged', authority: 'reviews:9080', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-request-id': 'r-1' } });
      await telemetry!.shutdown();
      telemetry = null;
      const lines = chunks.join('').split('\n').filter(Boolean);
      assert.equal(lines.length, 2, 'outbound and inbound hop');
      for (const line of lines) {
        if (format === 'json') {
          const e = JSON.parse(line) as Record<string, unknown>;
          assert.equal(e.trace_id, traceId);
          assert.equal(e.request_id, 'r-1');
          assert.equal(e.path, '/logged');
          assert.equal(e.status, 200);
        } else {
          assert.match(line, new RegExp(`^\\[[^\\]]+\\] "GET /logged HTTP/1.1" 200 - 0 \\d+ [\\d.]+ reviews:9080 \\S+ \\S+ - ${traceId} r-1$`));
        }
      }
    });
  }
});

/**
 * The app for the pool gauges: answers at once (with the status in x-echo-status), or holds a
 * request carrying x-hold until release(), so the test reads the gauges while requests are
 * known to be in progress rather than within a delay it guessed. Node's keep-alive hint, as the
 * echo server's: 5 s.
 */
async function startHoldingApp(): Promise<{ port: number; held: () => number; release: () => void; close: () => Promise<void> }> {
  const waiting: http.ServerResponse[] = [];
  let open = true;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.headers['x-hold'] !== undefined && open) waiting.push(res);
      else res.writeHead(Number(req.headers['x-echo-status'] ?? 200), { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const release = (): void => {
    open = false;
    for (const res of waiting.splice(0)) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  };
  return {
    port: (server.address() as AddressInfo).port,
    held: () => waiting.length,
    release,
    close: () => new Promise((r) => { release(); server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Scrapes until `ok` holds (every 20 ms, at most 10 s: a loaded machine), then returns that scrape; the last one if never. */
async function scrapeUntil(port: number, ok: (s: ReturnType<typeof parse>) => boolean): Promise<ReturnType<typeof parse>> {
  const deadline = Date.now() + 10_000;
  let samples = parse(await scrape(port));
  for (let i = 0; i < 500 && !ok(samples) && Date.now() < deadline; i++) {
    await new Promise((r) => setTimeout(r, 20));
    samples = parse(await scrape(port));
  }
  return samples;
}

describe('proxy health metrics: retry budget and upstream pools', () => {
  let app: Awaited<ReturnType<typeof startHoldingApp>>;
  let sidecar: RunningProxy;
  let inboundPort = -1;

  before(async () => {
    app = await startHoldingApp();
    const source = new ManualTableSource();
    sidecar = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, detectTimeoutMs: 100,
      originalDestination: (socket) => (socket.localPort === inboundPort ? { address: '127.0.0.1', port: app.port } : { address: '10.96.0.9', port: 9080 }),
      // One retry per 10 s whatever the traffic: the second failing attempt already finds the budget spent.
      retryBudget: { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 },
      // Two connections per endpoint, so four held requests leave two queued on the outbound hop.
      pool: { connectionsPerEndpoint: 2 },
    });
    inboundPort = sidecar.ports.inbound!;
    const be = T.backend('default', 'reviews', 9080, [{ port: inboundPort }]);
    source.push(T.table({
      backends: [be],
      services: [T.service({ name: 'reviews', clusterIP: '10.96.0.9', port: 9080, rules: [
        T.rule({ route: 'reviews', index: 1, path: { type: 'PathPrefix', value: '/retry' }, backends: [{ backend: be.name }], retry: { codes: [503], attempts: 2, backoffMs: 1 } }),
        T.rule({ route: 'reviews', path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: be.name }] }),
      ] })],
    }));
  });
  after(async () => {
    await sidecar.close();
    await app.close();
  });

  const gauge = (samples: ReturnType<typeof parse>, name: string, state?: string): number | undefined =>
    samples.find((s) => s.name === name && (state === undefined || s.labels.state === state))?.value;

  test('retries refused for budget are counted per route', async () => {
    const before = parse(await scrape(sidecar.ports.admin!));
    assert.deepEqual(before.filter((s) => s.name === 'meshlet_proxy_retry_budget_exhausted_total'), [], 'no sample before any refusal');
    for (let i = 0; i < 3; i++) {
      const r = await send({ port: sidecar.ports.outbound!, path: '/retry/x', authority: 'reviews:9080', headers: { 'x-echo-status': '503' } });
      assert.equal(r.status, 503);
    }
    const samples = parse(await scrape(sidecar.ports.admin!));
    const exhausted = samples.filter((s) => s.name === 'meshlet_proxy_retry_budget_exhausted_total');
    // The first request's first retry fits the budget; its second, and every later one, do not.
    assert.deepEqual(exhausted.map((s) => [s.labels.route, s.value]), [['httproute/default/reviews/rule/1/match/0', 3]]);
  });

  test('connections in use, kept alive, and requests queued for one', async () => {
    const held = Array.from({ length: 4 }, () => send({ port: sidecar.ports.outbound!, path: '/', authority: 'reviews:9080', headers: { 'x-hold': '1' } }));
    // Outbound hop: 2 connections busy, 2 requests queued; inbound hop to the app: 2 busy. The
    // app holds its two until released, so this state lasts until the test has read it: the
    // gauges are read once the app holds both (the inbound hop's connections are then busy).
    let samples = await scrapeUntil(sidecar.ports.admin!, (s) => app.held() === 2 && gauge(s, 'meshlet_proxy_upstream_pending_requests') === 2);
    assert.equal(app.held(), 2, 'two requests reached the app, the other two wait on the outbound hop');
    assert.equal(gauge(samples, 'meshlet_proxy_upstream_pending_requests'), 2);
    assert.equal(gauge(samples, 'meshlet_proxy_upstream_connections', 'active'), 4);
    app.release();
    for (const r of await Promise.all(held)) assert.equal(r.status, 200);
    samples = parse(await scrape(sidecar.ports.admin!));
    assert.equal(gauge(samples, 'meshlet_proxy_upstream_pending_requests'), 0);
    assert.equal(gauge(samples, 'meshlet_proxy_upstream_connections', 'active'), 0);
    // Both hops keep their two connections alive (the app's keep-alive hint is 5 s).
    assert.equal(gauge(samples, 'meshlet_proxy_upstream_connections', 'idle'), 4);
  });
});
