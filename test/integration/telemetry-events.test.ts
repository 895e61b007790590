// The telemetry hook: a subscriber to the diagnostics channels sees every request of the
// sidecar (its outbound and inbound sides) and of the ingress, each attempt (mirrors flagged),
// and opaque TCP tunnels, with the rule, backend, upstream, status and byte counts it needs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import net from 'node:net';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { CHANNELS, requestsObserved, type AttemptEvent, type RequestEvent, type TunnelEvent } from '../../agent/telemetry/index.ts';
import { startIngress, type RunningIngress } from '../../ingress/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import * as T from '../support/routing-tables.ts';

const quiet = (): void => undefined;

interface Seen {
  starts: RequestEvent[];
  ends: RequestEvent[];
  attempts: AttemptEvent[];
  tunnels: TunnelEvent[];
}

function subscribeAll(): { seen: Seen; stop: () => void } {
  const seen: Seen = { starts: [], ends: [], attempts: [], tunnels: [] };
  const handlers: [string, (m: unknown) => void][] = [
    [CHANNELS.requestStart, (m) => seen.starts.push(m as RequestEvent)],
    [CHANNELS.requestEnd, (m) => seen.ends.push(m as RequestEvent)],
    [CHANNELS.attemptEnd, (m) => seen.attempts.push(m as AttemptEvent)],
    [CHANNELS.tunnelEnd, (m) => seen.tunnels.push(m as TunnelEvent)],
  ];
  for (const [name, fn] of handlers) dc.subscribe(name, fn);
  return { seen, stop: () => { for (const [name, fn] of handlers) dc.unsubscribe(name, fn); } };
}

async function until(cond: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('telemetry events (diagnostics_channel)', () => {
  let app: EchoServer;
  let sidecar: RunningProxy;
  let ingress: RunningIngress;
  let inboundPort = -1;

  before(async () => {
    app = await startEchoServer({ pod: 'reviews-0', namespace: 'default' });
    // The sidecar calls itself: its outbound side sends to its own inbound side, whose
    // original destination is the app. One process shows both sides of a mesh hop.
    const source = new ManualTableSource();
    sidecar = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, detectTimeoutMs: 100,
      originalDestination: (socket) => (socket.localPort === inboundPort ? { address: '127.0.0.1', port: app.port } : { address: '10.96.0.9', port: 9080 }),
    });
    inboundPort = sidecar.ports.inbound!;
    const be = T.backend('default', 'reviews', 9080, [{ port: inboundPort }]);
    const mirror = T.backend('default', 'shadow', 9080, [{ port: app.port }]);
    source.push(T.table({
      backends: [be, mirror],
      services: [T.service({ name: 'reviews', clusterIP: '10.96.0.9', port: 9080, rules: [
        T.rule({ route: 'reviews', path: { type: 'PathPrefix', value: '/mirrored' }, backends: [{ backend: be.name }],
          filters: [{ type: 'RequestMirror', backend: mirror.name, percent: 100 }] }),
        // the table's rules are in precedence order: the catch-all last
        T.rule({ route: 'reviews', index: 2, path: { type: 'Exact', value: '/modified' }, backends: [{ backend: be.name }],
          filters: [{ type: 'RequestHeaderModifier', modifier: { set: [{ name: 'user-agent', value: 'rewritten' }], add: [], remove: ['x-remove'] } }] }),
        T.rule({ route: 'reviews', index: 1, path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: be.name }] }),
      ] })],
    }));
    const gwSource = new ManualTableSource(T.table({
      backends: [T.backend('default', 'web', 80, [{ port: app.port }])],
      gateways: [T.gateway({ name: 'public', port: 80, listeners: [{ name: 'http', hostname: null, vhosts: [{ hostname: '*', rules: [
        T.rule({ route: 'web', path: { type: 'PathPrefix', value: '/shop' }, backends: [{ backend: T.backendName('default', 'web', 80) }] }),
      ] }] }] })],
    }));
    ingress = await startIngress({ source: gwSource, host: '127.0.0.1', bindPort: () => 0, adminPort: 0, log: quiet });
  });
  after(async () => {
    await sidecar.close();
    await ingress.close();
    await app.close();
  });

  test('nobody subscribed: no request events are built', () => {
    assert.equal(requestsObserved(), false);
  });

  test('a mesh hop is seen on the outbound side and on the inbound side, with rule, backend, upstream, status and bytes', async () => {
    const { seen, stop } = subscribeAll();
    try {
      const res = await send({ port: sidecar.ports.outbound!, path: '/reviews/1?x=1', method: 'POST', body: 'hello', authority: 'reviews:9080' });
      assert.equal(res.status, 200);
      await until(() => seen.ends.length >= 2);
      const out = seen.ends.find((e) => e.site === 'outbound')!;
      const inb = seen.ends.find((e) => e.site === 'inbound')!;
      assert.ok(out && inb, `sites seen: ${seen.ends.map((e) => e.site).join(',')}`);
      assert.equal(out.method, 'POST');
      assert.equal(out.path, '/reviews/1');
      assert.equal(out.rule, 'httproute/default/reviews/rule/1/match/0');
      assert.equal(out.routePath, '/');
      assert.equal(out.backend, 'service/default/reviews/9080');
      assert.equal(out.upstream, `127.0.0.1:${inboundPort}`);
      assert.equal(out.status, 200);
      assert.equal(out.requestBytes, 5);
      assert.ok(out.responseBytes > 0 && out.responseBytes === res.body.length, `${out.responseBytes} vs ${res.body.length}`);
      assert.ok(out.endNs > out.startNs);
      assert.equal(out.error, null);
      assert.equal(inb.upstream, `127.0.0.1:${app.port}`);
      assert.equal(inb.status, 200);
      assert.equal(seen.starts.length, 2, 'one start per end');
      assert.equal(seen.attempts.filter((a) => !a.mirror).length, 2, 'one attempt per hop');
    } finally {
      stop();
    }
  });

  test('the events carry the headers as received, not as the route\'s header modifier rewrote them', async () => {
    const { seen, stop } = subscribeAll();
    try {
      const res = await send({ port: sidecar.ports.outbound!, path: '/modified', authority: 'reviews:9080', headers: { 'user-agent': 'client/1', 'x-remove': 'kept' } });
      assert.equal(res.status, 200);
      await until(() => seen.ends.length >= 2);
      const out = seen.ends.find((e) => e.site === 'outbound')!;
      const inb = seen.ends.find((e) => e.site === 'inbound')!;
      assert.equal(out.rule, 'httproute/default/reviews/rule/2/match/0');
      assert.deepEqual([out.headers['user-agent'], out.headers['x-remove']], ['client/1', 'kept'], 'outbound: as the client sent them');
      assert.deepEqual([inb.headers['user-agent'], inb.headers['x-remove']], ['rewritten', undefined], 'inbound: as the outbound side forwarded them');
    } finally {
      stop();
    }
  });

  test('a mirror is published as an attempt flagged mirror, the client request as one attempt', async () => {
    const { seen, stop } = subscribeAll();
    try {
      const res = await send({ port: sidecar.ports.outbound!, path: '/mirrored', authority: 'reviews:9080' });
      assert.equal(res.status, 200);
      await until(() => seen.attempts.some((a) => a.mirror));
      const mirrors = seen.attempts.filter((a) => a.mirror);
      assert.equal(mirrors.length, 1);
      assert.equal(mirrors[0]!.backend, 'service/default/shadow/9080');
      assert.equal(mirrors[0]!.status, 200);
      assert.equal(mirrors[0]!.request?.site, 'outbound');
    } finally {
      stop();
    }
  });

  test('the proxy\'s own answers are seen too: a 404 from the ingress carries its reason', async () => {
    const { seen, stop } = subscribeAll();
    try {
      const port = ingress.listenerPorts().get(80)!;
      assert.equal((await send({ port, path: '/shop/cart', authority: 'shop.example.com' })).status, 200);
      assert.equal((await send({ port, path: '/nowhere', authority: 'shop.example.com' })).status, 404);
      await until(() => seen.ends.length >= 2);
      const [ok, missing] = seen.ends;
      assert.equal(ok!.site, 'gateway');
      assert.equal(ok!.rule, 'httproute/default/web/rule/0/match/0');
      assert.equal(ok!.status, 200);
      assert.equal(missing!.site, 'gateway');
      assert.equal(missing!.status, 404);
      assert.ok(missing!.error, 'a 404 says why');
      assert.equal(seen.attempts.length, 1, 'no attempt for a request answered by the proxy');
    } finally {
      stop();
    }
  });

  test('opaque TCP is seen as a tunnel with its byte counts', async () => {
    const { seen, stop } = subscribeAll();
    try {
      // Not HTTP: detection gives up after 100 ms and splices to the app; the echo server
      // answers 400 to the garbage and closes.
      await new Promise<void>((resolve) => {
        const s = net.connect(inboundPort, '127.0.0.1', () => s.write('\x00\x01garbage\r\n\r\n'));
        s.on('data', () => undefined);
        s.on('close', () => resolve());
        s.on('error', () => resolve());
        setTimeout(() => s.destroy(), 1_500);
      });
      await until(() => seen.tunnels.length >= 1);
      const t = seen.tunnels[0]!;
      assert.equal(t.site, 'inbound');
      assert.equal(t.kind, 'tcp');
      assert.equal(t.upstream, `127.0.0.1:${app.port}`);
      assert.equal(t.bytesIn, 13);
    } finally {
      stop();
    }
  });
});
