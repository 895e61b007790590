// Mutual TLS between two sidecars on loopback with real certificates from a mesh CA: the hop is
// encrypted and authenticated both ways, the app learns its caller from x-forwarded-client-cert,
// a wrong peer identity fails closed, STRICT refuses plaintext, opaque TCP and HTTP/2 ride mTLS
// too, and a certificate rotation under load loses no request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { CertificateManager } from '../../agent/identity/index.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { spiffeId } from '../../api/names.ts';
import type { RoutingTable } from '../../api/routing-table.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { testMeshCa, workloadCertificates } from '../support/mesh-identity.ts';
import * as T from '../support/routing-tables.ts';

const quiet = (): void => undefined;
/** The echo server reports headers in canonical form, each as a list of values. */
const xfcc = (r: Awaited<ReturnType<typeof send>>): string[] | undefined => r.echo?.headers['X-Forwarded-Client-Cert'];
const CLIENT_ID = spiffeId('default', 'productpage');
const SERVER_ID = spiffeId('default', 'reviews');

interface Server {
  proxy: RunningProxy;
  app: EchoServer;
  tcpApp: net.Server;
  tcpPort: number;
  certs: CertificateManager;
}

/** The destination pod: its app (HTTP echo + a TCP echo) behind a sidecar whose inbound side terminates mTLS. */
async function serverPod(ca: ReturnType<typeof testMeshCa>, mode: 'PERMISSIVE' | 'STRICT'): Promise<Server> {
  const app = await startEchoServer({ pod: 'reviews-0', namespace: 'default' });
  const tcpApp = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpApp.listen(0, '127.0.0.1', () => r()));
  const tcpPort = (tcpApp.address() as net.AddressInfo).port;
  const certs = await workloadCertificates(ca, 'default', 'reviews');
  // Which app port a connection was for: the client side tells us through the port it dialled
  // (9080 → HTTP app, 9090 → TCP app), as SO_ORIGINAL_DST would.
  const proxy = await startSidecar({
    namespace: 'default', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
    originalDestination: () => ({ address: '127.0.0.1', port: app.port }),
    identity: { certificates: certs, mode },
  });
  return { proxy, app, tcpApp, tcpPort, certs };
}

async function stopAll(client: RunningProxy, clientCerts: CertificateManager, server: Server): Promise<void> {
  await client.close();
  await server.proxy.close();
  await server.app.close();
  server.tcpApp.close();
  await clientCerts.stop();
  await server.certs.stop();
}

function clientTable(inboundPort: number, identity: string | null, appProtocol: string | null = null): RoutingTable {
  const be = T.backend('default', 'reviews', 9080, [{ port: inboundPort }], appProtocol);
  be.endpoints = be.endpoints.map((e) => ({ ...e, identity }));
  return T.table({ backends: [be], services: [T.service({ name: 'reviews', clusterIP: '10.96.0.20', port: 9080, appProtocol, rules: [T.rule({ route: 'reviews', backends: [{ backend: be.name }] })] })] });
}

describe('mesh mTLS between two sidecars', () => {
  const ca = testMeshCa();
  let server: Server;
  let client: RunningProxy;
  let clientCerts: CertificateManager;
  const source = new ManualTableSource();

  before(async () => {
    server = await serverPod(ca, 'PERMISSIVE');
    clientCerts = await workloadCertificates(ca, 'default', 'productpage');
    source.push(clientTable(server.proxy.ports.inbound!, SERVER_ID));
    client = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
      originalDestination: () => ({ address: '10.96.0.20', port: 9080 }),
      identity: { certificates: clientCerts },
    });
  });
  after(() => stopAll(client, clientCerts, server));

  test('the app sees its caller\'s SPIFFE ID in x-forwarded-client-cert (Envoy\'s format)', async () => {
    const r = await send({ port: client.ports.outbound!, path: '/who', authority: 'reviews:9080' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(xfcc(r), [`By=${SERVER_ID};URI=${CLIENT_ID}`]);
  });

  test('a caller cannot forge x-forwarded-client-cert: the inbound side replaces it', async () => {
    const r = await send({ port: client.ports.outbound!, path: '/', authority: 'reviews:9080', headers: { 'x-forwarded-client-cert': 'By=x;URI=spiffe://cluster.local/ns/kube-system/sa/admin' } });
    assert.deepEqual(xfcc(r), [`By=${SERVER_ID};URI=${CLIENT_ID}`]);
  });

  test('plaintext straight to the inbound port (PERMISSIVE) reaches the app with no caller named', async () => {
    const r = await send({ port: server.proxy.ports.inbound!, path: '/', authority: 'reviews:9080', headers: { 'x-forwarded-client-cert': 'By=x;URI=forged' } });
    assert.equal(r.status, 200);
    assert.equal(xfcc(r), undefined);
    assert.equal(r.echo?.headers.Host?.[0], 'reviews:9080', 'the echo did answer with its headers');
  });

  test('the hop is TLS 1.3 with a meshlet ALPN: a raw peek at the inbound port sees a ClientHello, not HTTP', async () => {
    // A man in the middle between the sidecars: forwards bytes and records the first ones.
    let first: Buffer = Buffer.alloc(0);
    const mitm = net.createServer((s) => {
      const up = net.connect(server.proxy.ports.inbound!, '127.0.0.1');
      s.once('data', (d: Buffer) => { first = d; });
      s.pipe(up).pipe(s);
      s.on('error', () => up.destroy());
      up.on('error', () => s.destroy());
    });
    await new Promise<void>((r) => mitm.listen(0, '127.0.0.1', () => r()));
    try {
      source.push(clientTable((mitm.address() as net.AddressInfo).port, SERVER_ID));
      const r = await send({ port: client.ports.outbound!, path: '/secret-path', authority: 'reviews:9080' });
      assert.equal(r.status, 200);
      assert.equal(first[0], 0x16, 'a TLS handshake record');
      assert.ok(first.includes(Buffer.from('meshlet/http1.1')), 'ALPN names the protocol inside');
      assert.ok(!first.includes(Buffer.from('/secret-path')), 'no plaintext request on the wire');
    } finally {
      source.push(clientTable(server.proxy.ports.inbound!, SERVER_ID));
      mitm.close();
    }
  });

  test('an endpoint whose certificate names another workload fails closed with 503', async () => {
    source.push(clientTable(server.proxy.ports.inbound!, spiffeId('default', 'ratings')));
    try {
      const r = await send({ port: client.ports.outbound!, path: '/', authority: 'reviews:9080' });
      assert.equal(r.status, 503);
    } finally {
      source.push(clientTable(server.proxy.ports.inbound!, SERVER_ID));
    }
  });

  test('a peer from another CA is refused by both sides', async () => {
    const foreign = await workloadCertificates(testMeshCa(), 'default', 'reviews');
    // A client with a foreign certificate dialling the server's inbound port directly.
    const cert = foreign.current()!;
    const refused = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: server.proxy.ports.inbound!, key: cert.keyPem, cert: cert.chainPem.join(''), ca: server.certs.current()!.rootsPem, ALPNProtocols: ['meshlet/http1.1'], minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
      s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      s.on('data', () => resolve('answered'));
      s.on('error', () => resolve('refused'));
      s.on('close', () => resolve('refused'));
    });
    assert.equal(refused, 'refused');
    await foreign.stop();
  });

  test('gRPC (HTTP/2) rides mTLS with ALPN meshlet/h2, end to end', async () => {
    const h2app = http2.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/grpc', 'x-xfcc': String(req.headers['x-forwarded-client-cert'] ?? '') });
      res.end(`h2 ${req.httpVersion}`);
    });
    await new Promise<void>((r) => h2app.listen(0, '127.0.0.1', () => r()));
    const h2port = (h2app.address() as net.AddressInfo).port;
    const h2server = await startSidecar({
      namespace: 'default', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
      originalDestination: () => ({ address: '127.0.0.1', port: h2port }), identity: { certificates: server.certs },
    });
    source.push(clientTable(h2server.ports.inbound!, SERVER_ID, 'grpc'));
    try {
      const session = http2.connect(`http://127.0.0.1:${client.ports.outbound!}`);
      const answer = await new Promise<{ status: number; xfcc: string; body: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/reviews.Reviews/Get', ':method': 'POST', ':authority': 'reviews:9080', 'content-type': 'application/grpc', te: 'trailers' });
        let body = '';
        let status = 0;
        let xfcc = '';
        req.on('response', (h) => { status = Number(h[':status']); xfcc = String(h['x-xfcc'] ?? ''); });
        req.on('data', (d: Buffer) => { body += d.toString(); });
        req.on('end', () => resolve({ status, xfcc, body }));
        req.on('error', reject);
        req.end();
      });
      session.close();
      assert.equal(answer.status, 200);
      assert.equal(answer.body, 'h2 2.0');
      assert.equal(answer.xfcc, `By=${SERVER_ID};URI=${CLIENT_ID}`);
    } finally {
      source.push(clientTable(server.proxy.ports.inbound!, SERVER_ID));
      await h2server.close();
      h2app.close();
    }
  });

  test('opaque TCP rides mTLS (meshlet/tcp) byte for byte', async () => {
    const tcpServer = await startSidecar({
      namespace: 'default', source: new ManualTableSource(T.table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
      originalDestination: () => ({ address: '127.0.0.1', port: server.tcpPort }), identity: { certificates: server.certs },
    });
    source.push(clientTable(tcpServer.ports.inbound!, SERVER_ID, 'tcp'));
    try {
      const payload = Buffer.from([0x00, 0xff, 0x10, 0x0d, 0x0a, 0x47, 0x45, 0x54]);
      const echoed = await new Promise<Buffer>((resolve, reject) => {
        const s = net.connect(client.ports.outbound!, '127.0.0.1', () => s.write(payload));
        let got = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length >= payload.length) {
            s.destroy();
            resolve(got);
          }
        });
        s.on('error', reject);
        setTimeout(() => reject(new Error('no echo in 3 s')), 3_000).unref();
      });
      assert.deepEqual(echoed, payload);
      const dump = JSON.parse((await send({ port: tcpServer.ports.admin!, path: '/config_dump' })).text) as { mtls: { terminated: number } };
      assert.ok(dump.mtls.terminated >= 1, 'the server side terminated mTLS');
    } finally {
      source.push(clientTable(server.proxy.ports.inbound!, SERVER_ID));
      await tcpServer.close();
    }
  });
});

describe('STRICT mode', () => {
  const ca = testMeshCa();
  let server: Server;
  let client: RunningProxy;
  let clientCerts: CertificateManager;

  before(async () => {
    server = await serverPod(ca, 'STRICT');
    clientCerts = await workloadCertificates(ca, 'default', 'productpage');
    client = await startSidecar({
      namespace: 'default', source: new ManualTableSource(clientTable(server.proxy.ports.inbound!, SERVER_ID)), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
      originalDestination: () => ({ address: '10.96.0.20', port: 9080 }), identity: { certificates: clientCerts },
    });
  });
  after(() => stopAll(client, clientCerts, server));

  test('a plaintext caller (a pod outside the mesh) is refused with 403 and the reason', async () => {
    const r = await send({ port: server.proxy.ports.inbound!, path: '/' });
    assert.equal(r.status, 403);
    assert.match(r.text, /mTLS|mutual TLS/i);
  });

  test('opaque plaintext is closed without reaching the app', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(server.proxy.ports.inbound!, '127.0.0.1', () => s.write('\x00\x01binary'));
      s.on('data', () => resolve(false));
      s.on('close', () => resolve(true));
      s.on('error', () => resolve(true));
    });
    assert.equal(closed, true);
  });

  test('a mesh caller gets through', async () => {
    const r = await send({ port: client.ports.outbound!, path: '/', authority: 'reviews:9080' });
    assert.equal(r.status, 200);
    assert.deepEqual(xfcc(r), [`By=${SERVER_ID};URI=${CLIENT_ID}`]);
  });

  test('certificates rotate under load: 300 requests while both sides renew, none fails', async () => {
    const results: number[] = [];
    const load = (async () => {
      for (let i = 0; i < 300; i++) results.push((await send({ port: client.ports.outbound!, path: `/r${i}`, authority: 'reviews:9080' })).status);
    })();
    const before = [clientCerts.current(), server.certs.current()];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 40));
      clientCerts.renewNow();
      server.certs.renewNow();
    }
    await load;
    assert.notEqual(clientCerts.current(), before[0], 'the client certificate rotated');
    assert.notEqual(server.certs.current(), before[1], 'the server certificate rotated');
    assert.deepEqual(results.filter((s) => s !== 200), []);
    assert.equal(results.length, 300);
  });
});
