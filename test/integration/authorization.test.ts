// Identity-based authorization at the destination sidecar, on real mTLS: a policy on the reviews
// workload admits productpage and refuses ratings (HTTP 403 with the reason; opaque TCP closed),
// a plaintext caller never matches a principal, and endpoints no policy governs follow the
// default inbound policy. Decisions are counted on /metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { CertificateManager } from '../../agent/identity/index.ts';
import { DENIED_HEADER } from '../../agent/inbound/index.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { spiffeId } from '../../api/names.ts';
import type { PolicyIR, RoutingTable } from '../../api/routing-table.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { testMeshCa, workloadCertificates } from '../support/mesh-identity.ts';
import * as T from '../support/routing-tables.ts';

const quiet = (): void => undefined;
const REVIEWS = spiffeId('shop', 'reviews');
/** The reviews pod's address as its endpoints and the policy know it (127.0.0.1 on loopback). */
const POD = '127.0.0.1';

function policy(endpointPort: number, allow: string[], ports: number[] = []): PolicyIR {
  return {
    name: 'authorizationpolicy/shop/reviews-callers', namespace: 'shop',
    endpoints: [{ address: POD, port: endpointPort, namespace: 'shop', podName: 'reviews-0' }],
    rules: [{ principals: allow, ports }],
  };
}

describe('AuthorizationPolicy enforced by the destination sidecar', () => {
  const ca = testMeshCa();
  let app: EchoServer;
  let tcpApp: net.Server;
  let tcpPort: number;
  let server: RunningProxy;
  let serverCerts: CertificateManager;
  const serverSource = new ManualTableSource();
  const callers: { proxy: RunningProxy; certs: CertificateManager }[] = [];
  let productpage: RunningProxy;
  let ratings: RunningProxy;
  /** Which app port the client's connection was for (HTTP app or TCP app). */
  let appPort = 0;

  const clientTable = (inboundPort: number, appProtocol: string | null = null): RoutingTable => {
    const be = T.backend('shop', 'reviews', 9080, [{ port: inboundPort }], appProtocol);
    be.endpoints = be.endpoints.map((e) => ({ ...e, identity: REVIEWS }));
    return T.table({ backends: [be], services: [T.service({ namespace: 'shop', name: 'reviews', clusterIP: '10.96.0.40', port: 9080, appProtocol, rules: [T.rule({ namespace: 'shop', route: 'reviews', backends: [{ backend: be.name }] })] })] });
  };

  before(async () => {
    app = await startEchoServer({ pod: 'reviews-0', namespace: 'shop' });
    tcpApp = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => tcpApp.listen(0, '127.0.0.1', () => r()));
    tcpPort = (tcpApp.address() as net.AddressInfo).port;
    appPort = app.port;
    serverCerts = await workloadCertificates(ca, 'shop', 'reviews');
    server = await startSidecar({
      namespace: 'shop', source: serverSource, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
      originalDestination: () => ({ address: POD, port: appPort }), identity: { certificates: serverCerts },
    });
    for (const sa of ['productpage', 'ratings']) {
      const certs = await workloadCertificates(ca, 'shop', sa);
      const proxy = await startSidecar({
        namespace: 'shop', source: new ManualTableSource(clientTable(server.ports.inbound!)), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
        originalDestination: () => ({ address: '10.96.0.40', port: 9080 }), identity: { certificates: certs },
      });
      callers.push({ proxy, certs });
    }
    [productpage, ratings] = callers.map((c) => c.proxy) as [RunningProxy, RunningProxy];
  });
  after(async () => {
    for (const c of callers) {
      await c.proxy.close();
      await c.certs.stop();
    }
    await server.close();
    await serverCerts.stop();
    await app.close();
    tcpApp.close();
  });

  test('the allowed ServiceAccount gets through; another gets 403 naming the policy, and the app never sees it', async () => {
    appPort = app.port;
    serverSource.push(T.table({ policies: [policy(app.port, [spiffeId('shop', 'productpage')])] }));
    const ok = await send({ port: productpage.ports.outbound!, path: '/allowed', authority: 'reviews.shop:9080' });
    assert.equal(ok.status, 200, ok.text);
    const before = app.requests.length;
    const no = await send({ port: ratings.ports.outbound!, path: '/denied', authority: 'reviews.shop:9080' });
    assert.equal(no.status, 403);
    assert.match(String(no.headers[DENIED_HEADER]), /no rule of authorizationpolicy\/shop\/reviews-callers allows spiffe:\/\/cluster\.local\/ns\/shop\/sa\/ratings/);
    assert.match(no.text, /RBAC: access denied/);
    assert.equal(app.requests.length, before, 'the denied request did not reach the app');
  });

  test('a namespace wildcard admits every ServiceAccount of that namespace', async () => {
    serverSource.push(T.table({ policies: [policy(app.port, ['spiffe://cluster.local/ns/shop/sa/*'])] }));
    assert.equal((await send({ port: ratings.ports.outbound!, path: '/', authority: 'reviews.shop:9080' })).status, 200);
  });

  test('a plaintext caller matches no principal', async () => {
    serverSource.push(T.table({ policies: [policy(app.port, ['spiffe://cluster.local/ns/shop/sa/*'])] }));
    const r = await send({ port: server.ports.inbound!, path: '/' });
    assert.equal(r.status, 403);
    assert.match(String(r.headers[DENIED_HEADER]), /unauthenticated \(plaintext\) caller/);
  });

  test('opaque TCP from a denied identity is closed without a byte reaching the app', async () => {
    appPort = tcpPort;
    serverSource.push(T.table({ policies: [policy(tcpPort, [spiffeId('shop', 'productpage')])] }));
    const exchange = (proxy: RunningProxy): Promise<string> => new Promise((resolve) => {
      const s = net.connect(proxy.ports.outbound!, '127.0.0.1', () => s.write('\x00hello'));
      let got = '';
      s.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.length >= 6) s.destroy(); });
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
      setTimeout(() => s.destroy(), 3_000).unref();
    });
    try {
      for (const c of callers) await c.proxy.close().catch(() => undefined);
    } finally {
      callers.length = 0;
    }
    for (const sa of ['productpage', 'ratings']) {
      const certs = await workloadCertificates(ca, 'shop', sa);
      const proxy = await startSidecar({
        namespace: 'shop', source: new ManualTableSource(clientTable(server.ports.inbound!, 'tcp')), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
        originalDestination: () => ({ address: '10.96.0.40', port: 9080 }), identity: { certificates: certs },
      });
      callers.push({ proxy, certs });
    }
    assert.equal(await exchange(callers[0]!.proxy), '\x00hello', 'productpage echoed');
    assert.equal(await exchange(callers[1]!.proxy), '', 'ratings closed');
    const metrics = await send({ port: server.ports.admin!, path: '/metrics' });
    assert.match(metrics.text, /^meshlet_inbound_authorization_total\{decision="deny"\} [1-9]\d*$/m);
    assert.match(metrics.text, /^meshlet_inbound_authorization_total\{decision="allow"\} [1-9]\d*$/m);
  });
});

describe('the default inbound policy (no AuthorizationPolicy governs the endpoint)', () => {
  const ca = testMeshCa();
  test('authenticated admits mesh callers and refuses plaintext; deny refuses everyone', async () => {
    const app = await startEchoServer({ pod: 'x-0', namespace: 'shop' });
    const certs = await workloadCertificates(ca, 'shop', 'x');
    const clientCerts = await workloadCertificates(ca, 'shop', 'caller');
    const make = (defaultInboundPolicy: 'authenticated' | 'deny') => startSidecar({
      namespace: 'shop', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
      originalDestination: () => ({ address: POD, port: app.port }), identity: { certificates: certs }, defaultInboundPolicy,
    });
    const authn = await make('authenticated');
    const deny = await make('deny');
    const clientFor = (inbound: number) => {
      const be = T.backend('shop', 'x', 80, [{ port: inbound }]);
      be.endpoints = be.endpoints.map((e) => ({ ...e, identity: spiffeId('shop', 'x') }));
      return startSidecar({
        namespace: 'shop', source: new ManualTableSource(T.table({ backends: [be], services: [T.service({ namespace: 'shop', name: 'x', clusterIP: '10.96.0.41', port: 80, rules: [T.rule({ namespace: 'shop', route: 'x', backends: [{ backend: be.name }] })] })] })),
        host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, originalDestination: () => ({ address: '10.96.0.41', port: 80 }), identity: { certificates: clientCerts },
      });
    };
    const c1 = await clientFor(authn.ports.inbound!);
    const c2 = await clientFor(deny.ports.inbound!);
    try {
      assert.equal((await send({ port: c1.ports.outbound!, path: '/' })).status, 200, 'authenticated: a mesh caller');
      assert.equal((await send({ port: authn.ports.inbound!, path: '/' })).status, 403, 'authenticated: plaintext refused');
      const d = await send({ port: c2.ports.outbound!, path: '/' });
      assert.equal(d.status, 403, 'deny: even a mesh caller');
      assert.match(String(d.headers[DENIED_HEADER]), /default inbound policy denies/);
    } finally {
      for (const p of [c1, c2, authn, deny]) await p.close();
      await certs.stop();
      await clientCerts.stop();
      await app.close();
    }
  });
});
