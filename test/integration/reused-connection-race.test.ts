// The keep-alive race with apps (ADR 0024), through real proxies on loopback, on the HTTP/1.1
// fast path and on the general path: an app closes a kept-alive connection as a request arrives
// on it (its idle timeout firing at that moment; here made exact: the app closes any connection
// on its second request, with a FIN or with a reset), so the request meets EOF or RST before any
// response byte. A replayable request is resent once on a fresh connection and the client sees
// the app's answer; a POST, a fresh connection's failure and a second loss are not hidden; the
// resend is counted (meshlet_proxy_upstream_resends_total) and outside the retry budget; on the
// general path a GET whose resend is lost too goes to another pod (the default retry, ADR 0022),
// a POST the app may have run never does. Through a server sidecar to its app, a client and
// server sidecar pair (mTLS), and the ingress.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { spiffeId } from '../../api/names.ts';
import { rawUpstream, type RawUpstream, type SeenRequest } from '../../agent/engine/h1-fast/upstream-test-support.ts';
import { startIngress } from '../../ingress/index.ts';
import { parsePrometheus } from '../support/prometheus-text.ts';
import { send } from '../support/http-client.ts';
import { meshWorkloads } from '../support/mesh-workloads.ts';
import * as T from '../support/routing-tables.ts';

const quiet = (): void => undefined;
const SERVER_ID = spiffeId('default', 'reviews');
const CLUSTER_IP = '10.96.0.30';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

type Close = 'fin' | 'rst';

function close(r: SeenRequest, how: Close): void {
  if (how === 'rst') r.socket.resetAndDestroy(); // SO_LINGER 0: an RST, no FIN
  else r.socket.destroy();
}

/** An app that answers the first request on each connection and closes it at the second, unanswered. */
async function closingApp(how: Close = 'fin'): Promise<RawUpstream> {
  return track(await rawUpstream((r) => (r.index === 0 ? r.socket.write(OK) : close(r, how))));
}

function track(app: RawUpstream): RawUpstream {
  cleanups.push(() => app.close());
  return app;
}

/** The request lines the app received, in order. */
const lines = (app: RawUpstream): string[] => app.requests.map((r) => r.head.slice(0, r.head.indexOf(' HTTP/')));

/**
 * What a closingApp receives for `sent` GETs in sequence: the first opens a connection; a request
 * on a reused one is lost and resent on a fresh one. The fast path keeps the resend's connection
 * in its pool (so the next request races again); the general path's resend connection is a
 * one-off (undici's Pool takes no connection from outside), so the next request opens one anew.
 */
function raced(fast: boolean, sent: string[]): string[] {
  const out: string[] = [];
  let reused = false;
  for (const line of sent) {
    out.push(line);
    if (reused) out.push(line); // lost on the reused connection, then resent on a fresh one
    reused = fast || !reused;
  }
  return out;
}

async function resends(proxy: RunningProxy): Promise<number> {
  const scraped = await send({ port: proxy.ports.admin!, path: '/metrics' });
  const s = parsePrometheus(scraped.text).find((x) => x.name === 'meshlet_proxy_upstream_resends_total');
  assert.ok(s, 'meshlet_proxy_upstream_resends_total is exported');
  return s.value;
}

for (const path of [{ name: 'fast path', h1Fast: true }, { name: 'general path', h1Fast: false }]) {
  describe(`the keep-alive race with an app (${path.name})`, () => {
    const mesh = meshWorkloads({ h1Fast: path.h1Fast, cleanups });
    const serverSidecar = mesh.serverSidecar;

    /** A client pod's sidecar calling reviews:9080 at `ports` (meshed: through server sidecars, mTLS), picking `ports[0]`. */
    async function clientSidecar(ports: number[], o: { meshed: boolean; retryBudget?: { ratio: number; minPerSecond: number } }): Promise<RunningProxy> {
      const be = T.backend('default', 'reviews', 9080, ports.map((port) => ({ port })));
      if (o.meshed) be.endpoints = be.endpoints.map((e) => ({ ...e, identity: SERVER_ID }));
      // P2C's two samples both land on the first port's index (endpoints are kept sorted)
      const first = be.endpoints.findIndex((e) => e.port === ports[0]);
      const proxy = await startSidecar({
        namespace: 'default', host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, h1Fast: path.h1Fast,
        source: new ManualTableSource(T.table({ backends: [be], services: [T.service({ name: 'reviews', clusterIP: CLUSTER_IP, port: 9080 })] })),
        originalDestination: () => ({ address: CLUSTER_IP, port: 9080 }), ...(o.meshed ? { identity: { certificates: mesh.client() } } : {}),
        random: () => (first === 0 ? 0 : 0.99), ...(o.retryBudget ? { retryBudget: o.retryBudget } : {}),
      });
      cleanups.push(() => proxy.close());
      return proxy;
    }

    const get = (port: number, method = 'GET', p = '/') => send({ port, method, path: p, authority: 'reviews:9080' });

    for (const how of ['fin', 'rst'] as const) {
      test(`server sidecar to its app (the app closes with ${how === 'fin' ? 'a FIN' : 'an RST'}): every GET is answered, each one after the first resent once`, async () => {
        const app = await closingApp(how);
        const server = await serverSidecar(app.port);
        const inbound = server.ports.inbound!;
        const sent = ['GET /r0', 'GET /r1', 'GET /r2', 'GET /r3'];
        for (const line of sent) assert.equal((await get(inbound, 'GET', line.slice(4))).status, 200, line);
        // r0 opened the connection; each request that met a closing one went again on a new one
        assert.deepEqual(lines(app), raced(path.h1Fast, sent));
        assert.equal(await resends(server), lines(app).length - sent.length);
      });
    }

    test('client sidecar to server sidecar (mTLS) to the app: the server sidecar resends, the client sees 200', async () => {
      const app = await closingApp();
      const server = await serverSidecar(app.port);
      const client = await clientSidecar([server.ports.inbound!], { meshed: true });
      const sent = ['GET /p0', 'GET /p1', 'GET /p2'];
      for (const line of sent) assert.equal((await get(client.ports.outbound!, 'GET', line.slice(4))).status, 200, line);
      assert.deepEqual(lines(app), raced(path.h1Fast, sent));
      assert.equal(await resends(server), lines(app).length - sent.length);
      assert.equal(await resends(client), 0, 'the mesh hop kept its connection');
    });

    test('the ingress to an app', async () => {
      const app = await closingApp();
      const be = T.backend('default', 'web', 80, [{ port: app.port }]);
      const source = new ManualTableSource(T.table({
        backends: [be],
        gateways: [T.gateway({ name: 'public', port: 80, listeners: [{ name: 'any', hostname: null, vhosts: [{ hostname: '*', rules: [T.rule({ route: 'web', path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: be.name }] })] }] }] })],
      }));
      const ingress = await startIngress({ source, host: '127.0.0.1', bindPort: () => 0, adminPort: 0, log: quiet, h1Fast: path.h1Fast });
      cleanups.push(() => ingress.close());
      const port = ingress.listenerPorts().get(80)!;
      const sent = ['GET /i0', 'GET /i1', 'GET /i2'];
      for (const line of sent) assert.equal((await send({ port, path: line.slice(4), authority: 'www.example.com' })).status, 200, line);
      assert.deepEqual(lines(app), raced(path.h1Fast, sent));
      assert.equal(await resends(ingress), lines(app).length - sent.length);
    });

    test('not hidden: a POST (the app may have run it), a fresh connection\'s loss, a second loss', async () => {
      const app = await closingApp();
      const server = await serverSidecar(app.port);
      const inbound = server.ports.inbound!;
      assert.equal((await get(inbound, 'GET', '/warm')).status, 200);
      assert.equal((await get(inbound, 'POST', '/order')).status, 503);
      assert.deepEqual(lines(app), ['GET /warm', 'POST /order']);

      // an app that closes every connection at its first request: nothing was reused
      const refusing = track(await rawUpstream((r) => r.socket.destroy()));
      const s2 = await serverSidecar(refusing.port);
      assert.equal((await get(s2.ports.inbound!, 'GET', '/x')).status, 503);
      assert.deepEqual(lines(refusing), ['GET /x']);

      // an app that answers once, then closes every connection under a request: one resend, no more
      const once = track(await rawUpstream((r) => (r.conn === 0 && r.index === 0 ? r.socket.write(OK) : r.socket.destroy())));
      const s3 = await serverSidecar(once.port);
      assert.equal((await get(s3.ports.inbound!, 'GET', '/warm')).status, 200);
      assert.equal((await get(s3.ports.inbound!, 'GET', '/y')).status, 503);
      assert.deepEqual(lines(once), ['GET /warm', 'GET /y', 'GET /y']);
      assert.deepEqual([await resends(server), await resends(s2), await resends(s3)], [0, 0, 1]);
    });

    test('the resend is not a retry: a spent budget does not stop it', async () => {
      // a budget that allows no retry at all: the resend still goes
      const app = await closingApp();
      const spent = await clientSidecar([app.port], { meshed: false, retryBudget: { ratio: 0, minPerSecond: 0 } });
      const sent = ['GET /b0', 'GET /b1', 'GET /b2'];
      for (const line of sent) assert.equal((await get(spent.ports.outbound!, 'GET', line.slice(4))).status, 200, line);
      assert.deepEqual(lines(app), raced(path.h1Fast, sent));
      const scraped = parsePrometheus((await send({ port: spent.ports.admin!, path: '/metrics' })).text);
      assert.deepEqual(scraped.filter((x) => x.name === 'meshlet_proxy_retry_budget_exhausted_total'), []);
    });

    /** A pod that answers one request (on its first connection), then resets every connection under a request. */
    const dying = async (): Promise<RawUpstream> => track(await rawUpstream((r) => (r.conn === 0 && r.index === 0 ? r.socket.write(OK) : r.socket.destroy())));

    /**
     * A client sidecar to [dying pod, healthy pod], each warmed by one request (the balancer tries
     * the unused one second); the healthy pod answers its warm request 300 ms late, so that peak
     * EWMA picks the dying one for the next request.
     */
    async function dyingThenHealthy(): Promise<{ client: RunningProxy; pods: RawUpstream[] }> {
      const healthy = track(await rawUpstream((r) => (r.conn === 0 && r.index === 0 ? setTimeout(() => r.socket.write(OK), 300) : r.socket.write(OK))));
      const pods = [await dying(), healthy];
      const client = await clientSidecar(pods.map((a) => a.port), { meshed: false });
      for (const line of ['GET /warm1', 'GET /warm2']) assert.equal((await get(client.ports.outbound!, 'GET', line.slice(4))).status, 200, line);
      assert.deepEqual(pods.map((a) => lines(a)), [['GET /warm1'], ['GET /warm2']], 'one warm request each');
      return { client, pods };
    }

    const seen = (pods: RawUpstream[], line: string): number[] => pods.map((a) => lines(a).filter((l) => l === line).length);

    test('a GET lost on a kept-alive connection and lost again on the resend goes to the other pod: the client sees 200', async () => {
      const { client, pods } = await dyingThenHealthy();
      // the request and its resend on the dying pod (each reset before any response byte: an
      // idempotent request, as ADR 0022 retries on the general path), then the default retry
      assert.equal((await get(client.ports.outbound!, 'GET', '/z')).status, 200);
      assert.deepEqual(seen(pods, 'GET /z'), [2, 1]);
    });

    test('a POST the dying pod read before it reset is not sent again, to it or to the other pod: the client sees 503', async () => {
      const { client, pods } = await dyingThenHealthy();
      // written on the kept connection (not resent: it may have run), and not a lost
      // connection the default retry may follow for a POST
      assert.equal((await get(client.ports.outbound!, 'POST', '/order')).status, 503);
      assert.deepEqual(seen(pods, 'POST /order'), [1, 0]);
    });
  });
}
