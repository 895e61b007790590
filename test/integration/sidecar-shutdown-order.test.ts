// The order a meshed pod shuts down in (issue 10, "Lifecycle"): in legacy mode the app and the
// agent get SIGTERM together, so the agent refuses new inbound connections at once, lets the
// requests already inside the app finish, and keeps serving the app's own outbound calls until
// they have been quiet for a while; only then does outbound close. Real sockets on loopback
// for the order itself; fake timers for the quiet period and the deadline.
import { afterEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { InflightTracker } from '../../agent/engine/inflight.ts';
import { drainInOrder, onSigterm, type DrainableListener } from '../../agent/lifecycle/drain.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startEchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { backend, service, table } from '../support/routing-tables.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const SVC = { address: '10.96.0.50', port: 80 };

/**
 * A pod: an app behind the sidecar's inbound side that, on /work, waits for `release()` and
 * then calls svc through the sidecar's outbound side, as an app finishing a request does.
 */
async function pod(outboundQuietMs: number | undefined): Promise<{ proxy: RunningProxy; release: () => void; received: Promise<void>; callOut: () => Promise<number> }> {
  const upstream = await startEchoServer({ pod: 'upstream', namespace: 'default' });
  cleanups.push(() => upstream.close());
  let proxy: RunningProxy | null = null;
  const callOut = async (): Promise<number> => (await send({ port: proxy!.ports.outbound!, path: '/from-app' })).status;
  let release = (): void => undefined;
  let received = (): void => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const receivedP = new Promise<void>((r) => (received = r));
  const app = http.createServer((req, res) => {
    received();
    void gate.then(callOut).then((status) => res.end(`called out: ${status}`), (err: Error) => res.end(`call out failed: ${err.message}`));
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => {
    app.closeAllConnections();
    app.close(() => r());
  }));
  const appPort = (app.address() as net.AddressInfo).port;
  const source = new ManualTableSource(table({
    backends: [backend('default', 'svc', 80, [{ port: upstream.port }])],
    services: [service({ name: 'svc', clusterIP: SVC.address, port: SVC.port })],
  }));
  proxy = await startSidecar({
    namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: () => undefined,
    // What iptables would say: connections to the inbound port were going to the app.
    originalDestination: (s) => (s.localPort === proxy?.ports.inbound ? { address: '127.0.0.1', port: appPort } : SVC),
    outboundQuietMs,
  });
  const p = proxy;
  cleanups.push(() => p.close());
  return { proxy: p, release: () => release(), received: receivedP, callOut };
}

describe('shutdown order on a real sidecar', () => {
  test('inbound is refused at once, in-flight inbound completes, the app still calls out while draining', async () => {
    const { proxy, release, received, callOut } = await pod(200);
    const inflight = send({ port: proxy.ports.inbound!, path: '/work' });
    await received;
    const drained = proxy.drain(10_000);
    assert.equal((await send({ port: proxy.ports.admin!, path: '/ready' })).status, 503, 'readiness drops first');
    await assert.rejects(send({ port: proxy.ports.inbound!, path: '/new' }), 'a new inbound connection is refused');
    assert.equal(await callOut(), 200, 'the app calls out after the drain started');
    release();
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.text, 'called out: 200', 'the in-flight request finished, calling out on its way');
    assert.equal(await drained, true);
    await assert.rejects(send({ port: proxy.ports.outbound! }), 'outbound is closed once the drain is over');
  });

  test('SIGTERM runs the same order and exits 0', async () => {
    const { proxy, release, received, callOut } = await pod(100);
    const inflight = send({ port: proxy.ports.inbound!, path: '/work' });
    await received;
    const exited = new Promise<number>((resolve) => {
      const off = onSigterm(proxy, { deadlineMs: 10_000, exit: (code) => {
        off();
        resolve(code);
      } });
    });
    process.kill(process.pid, 'SIGTERM');
    // The signal arrives asynchronously: the drain has begun once readiness drops.
    for (let i = 0; i < 100 && (await send({ port: proxy.ports.admin!, path: '/ready' })).status === 200; i++) await new Promise((r) => setTimeout(r, 10));
    await assert.rejects(send({ port: proxy.ports.inbound!, path: '/new' }));
    assert.equal(await callOut(), 200);
    release();
    assert.equal((await inflight).text, 'called out: 200');
    assert.equal(await exited, 0);
  });

  test('without outboundQuietMs both sides stop together, and the draining app\'s call out is refused', async () => {
    // The failure the order exists to prevent (istio#7136): the proxy leaves before its app.
    const { proxy, release, received } = await pod(undefined);
    const inflight = send({ port: proxy.ports.inbound!, path: '/work' });
    await received;
    const drained = proxy.drain(10_000);
    release();
    assert.match((await inflight).text, /^call out failed: connect ECONNREFUSED/);
    assert.equal(await drained, true);
  });
});

describe('the quiet period and the deadline (fake timers)', () => {
  interface StandIn extends DrainableListener {
    events: string[];
  }
  function standIn(name: string, events: string[]): StandIn {
    const server = net.createServer();
    return {
      server, events,
      stopAccepting: () => {
        events.push(`${name} stops accepting`);
        return Promise.resolve();
      },
      closeIdle: () => undefined,
      destroyAll: () => void events.push(`${name} destroyed`),
    };
  }
  const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
  /** Advances the fake clock in 10 ms steps: each poll schedules the next one from "now". */
  const advance = (ms: number): void => {
    for (let i = 0; i < ms / 10; i++) mock.timers.tick(10);
  };

  test('outbound waits for in-flight work plus the quiet period; a new outbound connection restarts it', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    try {
      const events: string[] = [];
      const inbound = standIn('inbound', events);
      const outbound = standIn('outbound', events);
      const inflight = new InflightTracker();
      const done = inflight.start();
      let result: boolean | null = null;
      void drainInOrder({ inbound: [inbound], outbound: [outbound], outboundQuietMs: 1_000 }, inflight, 30_000).then((r) => (result = r));
      assert.deepEqual(events, ['inbound stops accepting']);
      advance(5_000);
      await flush();
      assert.deepEqual(events, ['inbound stops accepting'], 'a request is in flight: outbound stays open');
      done();
      advance(600);
      outbound.server.emit('connection', new net.Socket());
      advance(900);
      await flush();
      assert.deepEqual(events, ['inbound stops accepting'], 'the app opened a connection 900 ms ago');
      advance(200);
      await flush();
      await flush();
      assert.deepEqual(events, ['inbound stops accepting', 'outbound stops accepting', 'inbound stops accepting', 'outbound destroyed', 'inbound destroyed', 'inbound destroyed']);
      assert.equal(result, true);
    } finally {
      mock.timers.reset();
    }
  });

  test('work that never ends is cut at the deadline, and the drain says so', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    try {
      const events: string[] = [];
      const inflight = new InflightTracker();
      inflight.start(); // a tunnel that stays open
      let result: boolean | null = null;
      void drainInOrder({ inbound: [standIn('inbound', events)], outbound: [standIn('outbound', events)], outboundQuietMs: 1_000 }, inflight, 20_000).then((r) => (result = r));
      advance(19_980);
      await flush();
      assert.equal(events.includes('outbound stops accepting'), false);
      advance(30);
      await flush();
      advance(10);
      await flush();
      assert.equal(result, false);
      assert.ok(events.includes('outbound destroyed') && events.includes('inbound destroyed'), events.join(', '));
    } finally {
      mock.timers.reset();
    }
  });
});
