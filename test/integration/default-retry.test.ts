// The default retry of a mesh hop (ADR 0022), through real sidecars on loopback, on both the
// HTTP/1.1 fast path and the general path: with no route retry, a request whose attempt certainly
// reached no app (connect refused; a peer sidecar's marked 503 for its app that refused) is
// tried once more on another endpoint, and the refusing endpoint is left alone for a while; an
// app's own 503, a body past the retry bound and a route's own retry policy are left as they were.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { CHANNELS, type AttemptEvent } from '../../agent/telemetry/events.ts';
import type { RetryIR } from '../../api/routing-table.ts';
import { spiffeId } from '../../api/names.ts';
import { UNREACHED_HEADER } from '../../agent/engine/default-retry.ts';
import { startTelemetry } from '../../agent/telemetry/index.ts';
import { parsePrometheus } from '../support/prometheus-text.ts';
import { send } from '../support/http-client.ts';
import { meshWorkloads } from '../support/mesh-workloads.ts';
import { testMeshCa, workloadCertificates } from '../support/mesh-identity.ts';
import * as T from '../support/routing-tables.ts';

const quiet = (): void => undefined;
const SERVER_ID = spiffeId('default', 'reviews');
const CLUSTER_IP = '10.96.0.20';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Whether a connect to 127.0.0.1:port is refused (bounded by a 1 s timeout). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (v: boolean): void => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(1_000, () => done(false));
    sock.once('connect', () => done(false));
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

let lastRefusing = 0;
/**
 * A loopback port nothing listens on: connects to it are refused. A privileged port (below 1024),
 * so that no test's listen(0) elsewhere on the machine can take it while this file runs (an
 * ephemeral port closed and handed on was once taken and answered 404); each call a new one.
 */
async function refusingPort(): Promise<number> {
  for (let port = lastRefusing + 1; port < 1024; port++) {
    if (await refused(port)) {
      lastRefusing = port;
      return port;
    }
  }
  throw new Error('no refusing privileged port on 127.0.0.1');
}

interface App {
  port: number;
  readonly count: number;
}

/** An app answering `status` to everything, counting the requests it received. */
async function app(status: number): Promise<App> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`app said ${status}\n`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, get count() { return count; } };
}

/** Attempts the client side's outbound made, by upstream port, while the test runs. */
function recordAttempts(): Map<number, number> {
  const byPort = new Map<number, number>();
  const onEnd = (msg: unknown): void => {
    const at = msg as AttemptEvent;
    if (at.request?.site !== 'outbound' || at.mirror) return;
    const port = Number(at.upstream.slice(at.upstream.lastIndexOf(':') + 1));
    byPort.set(port, (byPort.get(port) ?? 0) + 1);
  };
  dc.subscribe(CHANNELS.attemptEnd, onEnd);
  cleanups.push(() => {
    dc.unsubscribe(CHANNELS.attemptEnd, onEnd);
  });
  return byPort;
}

for (const path of [{ name: 'fast path', h1Fast: true }, { name: 'general path', h1Fast: false }]) {
  describe(`default retry of a mesh hop (${path.name})`, () => {
    const mesh = meshWorkloads({ h1Fast: path.h1Fast, cleanups });
    /** A server pod's sidecar delivering to `appPort`: its inbound port. */
    const serverSidecar = async (appPort: number): Promise<number> => (await mesh.serverSidecar(appPort)).ports.inbound!;

    /**
     * The client pod's sidecar, calling reviews:9080 whose endpoints are `ports` (meshed when
     * `meshed`). `first`: the port the first pick lands on (P2C's tie goes to its first sample).
     */
    async function clientSidecar(ports: number[], o: { meshed?: boolean; retry?: RetryIR | null; first?: number; defaultRetry?: boolean; metrics?: () => string } = {}): Promise<RunningProxy> {
      const be = T.backend('default', 'reviews', 9080, ports.map((port) => ({ port })));
      if (o.meshed ?? true) be.endpoints = be.endpoints.map((e) => ({ ...e, identity: SERVER_ID }));
      const firstIndex = o.first === undefined ? -1 : be.endpoints.findIndex((e) => e.port === o.first);
      const random = firstIndex < 0 ? undefined : (): number => (firstIndex === 0 ? 0 : 0.99);
      const proxy = await startSidecar({
        namespace: 'default', host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, h1Fast: path.h1Fast,
        source: new ManualTableSource(T.table({ backends: [be], services: [T.service({ name: 'reviews', clusterIP: CLUSTER_IP, port: 9080, rules: [T.rule({ route: 'reviews', backends: [{ backend: be.name }], retry: o.retry ?? null })] })] })),
        originalDestination: () => ({ address: CLUSTER_IP, port: 9080 }), identity: (o.meshed ?? true) ? { certificates: mesh.client() } : undefined,
        ...(random ? { random } : {}), ...(o.defaultRetry === undefined ? {} : { defaultRetry: o.defaultRetry }), ...(o.metrics ? { metrics: [o.metrics] } : {}),
      });
      cleanups.push(() => proxy.close());
      return proxy;
    }

    const get = (proxy: RunningProxy, method = 'GET', body?: string) => send({ port: proxy.ports.outbound!, method, authority: 'reviews:9080', ...(body === undefined ? {} : { body }) });

    test('two endpoints, one refusing: every request is answered 200, and the refusing one is tried once in the avoidance window', async () => {
      const attempts = recordAttempts();
      const good = await app(200);
      const dead = await refusingPort();
      const client = await clientSidecar([good.port, dead], { meshed: false });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await get(client)).status);
      assert.deepEqual(statuses, new Array(30).fill(200));
      assert.equal(good.count, 30);
      // a new endpoint looks cheapest to the balancer, so the refusing one is tried early; then left alone
      assert.equal(attempts.get(dead), 1, `attempts: ${JSON.stringify([...attempts])}`);
    });

    test('two refusing endpoints of three are each tried at most once in the avoidance window', async () => {
      const attempts = recordAttempts();
      const good = await app(200);
      const dead = [await refusingPort(), await refusingPort()];
      const client = await clientSidecar([good.port, ...dead], { meshed: false });
      for (let i = 0; i < 20; i++) await get(client);
      // P2C samples two of the three endpoints: without the avoidance it samples both refusing
      // ones a third of the time, and their latency penalty alone does not keep them apart
      for (const port of dead) assert.ok((attempts.get(port) ?? 0) <= 1, `attempts: ${JSON.stringify([...attempts])}`);
      assert.ok(good.count >= 18, `the healthy endpoint served ${good.count}`);
    });

    test('a server sidecar whose app is down answers 503 with the unreached mark', async () => {
      const inbound = await serverSidecar(await refusingPort());
      const r = await send({ port: inbound });
      assert.equal(r.status, 503);
      assert.equal(r.headers[UNREACHED_HEADER], '1');
    });

    test('the client sidecar retries a marked 503 on the other pod, and strips the mark when it cannot', async () => {
      const attempts = recordAttempts();
      const healthy = await app(200);
      const down = await serverSidecar(await refusingPort());
      const up = await serverSidecar(healthy.port);
      const client = await clientSidecar([down, up], { first: down });
      for (let i = 0; i < 10; i++) assert.equal((await get(client)).status, 200);
      assert.equal(healthy.count, 10);
      assert.equal(attempts.get(down), 1, `attempts: ${JSON.stringify([...attempts])}`);
      // the only endpoint left is the one whose app is down: its 503 goes to the app, unmarked
      const alone = await clientSidecar([down]);
      const r = await get(alone);
      assert.equal(r.status, 503);
      assert.equal(r.headers[UNREACHED_HEADER], undefined);
      assert.equal(r.headers['meshlet-reason'], 'upstream connect error or disconnect/reset before headers');
    });

    test('a default retry counts in meshlet_upstream_retries_total, as a route retry does', async () => {
      const telemetry = startTelemetry({
        role: 'sidecar', self: { name: 'productpage', namespace: 'default', pod: 'productpage-0', principal: '' },
        env: {}, metrics: true, accessLog: null, otlpEndpoint: null, defaultSamplingRatio: 1, log: quiet,
      });
      cleanups.push(() => telemetry.shutdown());
      const healthy = await app(200);
      const down = await serverSidecar(await refusingPort());
      const up = await serverSidecar(healthy.port);
      const client = await clientSidecar([down, up], { first: down, metrics: telemetry.metrics });
      assert.equal((await get(client)).status, 200);
      const scraped = await send({ port: client.ports.admin!, path: '/metrics' });
      const retries = parsePrometheus(scraped.text).filter((x) => x.name === 'meshlet_upstream_retries_total');
      assert.deepEqual(retries.map((x) => [x.labels.backend, x.value]), [['service/default/reviews/9080', 1]]);
    });

    test('default retries a Service\'s default route refuses for budget are counted under its route label (empty), not a backend name', async () => {
      // Two Services without routes, each backend two refusing endpoints; one retry per 10 s per backend.
      const services = [{ name: 'reviews', ip: '10.96.0.21' }, { name: 'ratings', ip: '10.96.0.22' }];
      const backends = await Promise.all(services.map(async (s) => T.backend('default', s.name, 9080, [{ port: await refusingPort() }, { port: await refusingPort() }])));
      let target = services[0]!.ip;
      const client = await startSidecar({
        namespace: 'default', host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, h1Fast: path.h1Fast,
        source: new ManualTableSource(T.table({ backends, services: services.map((s) => T.service({ name: s.name, clusterIP: s.ip, port: 9080 })) })),
        originalDestination: () => ({ address: target, port: 9080 }), retryBudget: { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 },
      });
      cleanups.push(() => client.close());
      for (const s of services) {
        target = s.ip;
        // the first request's retry fits its backend's budget (and fails too); the second's does not
        for (let i = 0; i < 2; i++) assert.equal((await send({ port: client.ports.outbound!, authority: `${s.name}:9080` })).status, 503);
      }
      const scraped = await send({ port: client.ports.admin!, path: '/metrics' });
      const exhausted = parsePrometheus(scraped.text).filter((x) => x.name === 'meshlet_proxy_retry_budget_exhausted_total');
      // one series for the default routes, as the request metrics' route label has them: the backends' refusals summed
      assert.deepEqual(exhausted.map((x) => [x.labels.route, x.value]), [['', 2]]);
    });

    test('an app\'s own 503 reaches the client unchanged, tried once', async () => {
      const own = await app(503);
      const other = await app(200);
      const a = await serverSidecar(own.port);
      const b = await serverSidecar(other.port);
      const client = await clientSidecar([a, b], { first: a });
      const r = await get(client);
      assert.equal(r.status, 503);
      assert.equal(r.text, 'app said 503\n');
      assert.equal(own.count, 1);
      assert.equal(other.count, 0);
    });

    test('a POST whose body is over the retry bound is not retried', async () => {
      const healthy = await app(200);
      const down = await serverSidecar(await refusingPort());
      const up = await serverSidecar(healthy.port);
      const client = await clientSidecar([down, up], { first: down });
      const r = await get(client, 'POST', 'x'.repeat(100 * 1024));
      assert.equal(r.status, 503);
      assert.equal(r.headers[UNREACHED_HEADER], undefined);
      assert.equal(healthy.count, 0);
    });

    test('a route with its own retry policy behaves as before: a marked 503 not in its codes is not retried', async () => {
      const healthy = await app(200);
      const down = await serverSidecar(await refusingPort());
      const up = await serverSidecar(healthy.port);
      const client = await clientSidecar([down, up], { first: down, retry: { codes: [500], attempts: 2, backoffMs: 1 } });
      const r = await get(client);
      assert.equal(r.status, 503);
      assert.equal(r.headers[UNREACHED_HEADER], undefined);
      assert.equal(healthy.count, 0);
    });

    test('the default retry is off for a rule whose retry says attempts: 0, and for a proxy started without it', async () => {
      const healthy = await app(200);
      const down = await serverSidecar(await refusingPort());
      const up = await serverSidecar(healthy.port);
      for (const off of [{ retry: { codes: [], attempts: 0, backoffMs: null } }, { defaultRetry: false }]) {
        const client = await clientSidecar([down, up], { first: down, ...off });
        const r = await get(client);
        assert.equal(r.status, 503, JSON.stringify(off));
        assert.equal(r.headers[UNREACHED_HEADER], undefined);
      }
      assert.equal(healthy.count, 0);
    });

    if (path.h1Fast) {
      test('a small POST body complete in the first write is resent to the other pod', async () => {
        let bodies = '';
        const server = http.createServer((req, res) => {
          req.setEncoding('utf8');
          req.on('data', (c: string) => { bodies += c; });
          req.on('end', () => res.end('ok'));
        });
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        cleanups.push(() => { server.closeAllConnections(); server.close(); });
        const down = await serverSidecar(await refusingPort());
        const up = await serverSidecar((server.address() as net.AddressInfo).port);
        const client = await clientSidecar([down, up], { first: down });
        const r = await get(client, 'POST', 'a small body');
        assert.equal(r.status, 200);
        assert.equal(bodies, 'a small body');
      });
    }
  });
}

// A calls B (two replicas, meshed, no route retry); B's app does its work, then calls C, a meshed
// pod it reaches by passthrough (no identity: a headless Service's pod IP), whose app is down, and
// relays C's answer. C's sidecar marks its 503; B's sidecar must remove the mark although it does
// not believe it, or B's app relays it and A's sidecar resends a POST that B's app already ran.
for (const h1Fast of [true, false]) {
  test(`a mark relayed by an app is never believed: the POST reaches one B app once (${h1Fast ? 'fast path' : 'general path'})`, async () => {
    const ca = testMeshCa();
    const [aCerts, bCerts, cCerts] = await Promise.all([workloadCertificates(ca, 'default', 'productpage'),
      workloadCertificates(ca, 'default', 'reviews'), workloadCertificates(ca, 'default', 'db')]);
    cleanups.push(() => aCerts.stop(), () => bCerts.stop(), () => cCerts.stop());
    const dead = await refusingPort();
    const c = await startSidecar({ namespace: 'default', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
      originalDestination: () => ({ address: '127.0.0.1', port: dead }), identity: { certificates: cCerts }, h1Fast });
    cleanups.push(() => c.close());
    const hits = [0, 0];
    const marksSeenByApps: string[] = [];
    const bInbound: number[] = [];
    for (let i = 0; i < 2; i++) {
      let outbound = 0;
      const server = http.createServer((req, res) => {
        hits[i]!++;
        const chunks: Buffer[] = [];
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('end', () => {
          const up = http.request({ host: '127.0.0.1', port: outbound, method: 'POST', path: '/', headers: { host: 'db-0.db:5000' } }, (r) => {
            if (r.headers[UNREACHED_HEADER] !== undefined) marksSeenByApps.push(`B${i}`);
            res.writeHead(r.statusCode!, r.headers);
            r.pipe(res);
          });
          up.on('error', () => res.writeHead(502).end());
          up.end(Buffer.concat(chunks));
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanups.push(() => {
        server.closeAllConnections();
        server.close();
      });
      const appPort = (server.address() as net.AddressInfo).port;
      let inbound = -1;
      const b: RunningProxy = await startSidecar({ namespace: 'default', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
        // B's inbound delivers to its app; B's outbound reaches C by passthrough (no table entry)
        originalDestination: (sock) => (sock.localPort === inbound ? { address: '127.0.0.1', port: appPort } : { address: '127.0.0.1', port: c.ports.inbound! }),
        identity: { certificates: bCerts }, h1Fast });
      inbound = b.ports.inbound!;
      outbound = b.ports.outbound!;
      cleanups.push(() => b.close());
      bInbound.push(inbound);
    }
    const be = T.backend('default', 'reviews', 9080, bInbound.map((port) => ({ port })));
    be.endpoints = be.endpoints.map((e) => ({ ...e, identity: SERVER_ID }));
    const a = await startSidecar({ namespace: 'default', host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, h1Fast,
      source: new ManualTableSource(T.table({ backends: [be], services: [T.service({ name: 'reviews', clusterIP: CLUSTER_IP, port: 9080, rules: [T.rule({ route: 'reviews', backends: [{ backend: be.name }] })] })] })),
      originalDestination: () => ({ address: CLUSTER_IP, port: 9080 }), identity: { certificates: aCerts } });
    cleanups.push(() => a.close());
    const r = await send({ port: a.ports.outbound!, method: 'POST', authority: 'reviews:9080', body: '{"order":1}' });
    assert.equal(r.status, 503, 'C was down: B relayed its 503');
    assert.equal(r.headers[UNREACHED_HEADER], undefined, 'no mark reaches the client');
    assert.deepEqual(marksSeenByApps, [], "B's sidecar removed C's mark before B's app saw it");
    assert.equal(hits[0]! + hits[1]!, 1, `the POST ran on one B app once: ${JSON.stringify(hits)}`);
  });
}
