// The fast path's upstream pool over mesh mTLS, against this project's own inbound termination
// (InboundMtls, STRICT) with certificates from a test mesh CA: connections are opened through
// connect.ts, so the hop is TLS 1.3 with ALPN meshlet/http1.1 (the inbound sees HTTP/1.1
// inside and the caller's SPIFFE ID), kept alive and reused like plaintext ones, and an
// endpoint whose certificate names another workload than the routing table expects is never
// sent a byte of the request (a connect error, 503 on the general path).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { UpstreamConnectError } from '../connect.ts';
import { UpstreamPools } from '../pools.ts';
import { InboundMtls } from '../../inbound/mesh-mtls.ts';
import { SecureContextCache } from '../../identity/tls-options.ts';
import type { CertificateManager } from '../../identity/index.ts';
import { testMeshCa, workloadCertificates } from '../../../test/support/mesh-identity.ts';
import { writeRequestHead } from './head-writer.ts';
import { FastPool } from './upstream-pool.ts';
import { RecordingSink, serveRequests, settled, type SeenRequest } from './upstream-test-support.ts';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet } as never;
const SERVER_ID = 'spiffe://cluster.local/ns/shop/sa/reviews';
const CLIENT_ID = 'spiffe://cluster.local/ns/shop/sa/productpage';

let serverCerts: CertificateManager;
let clientCerts: CertificateManager;
let server: net.Server;
let mtls: InboundMtls;
const meshed: { inner: string; peer: string }[] = [];
const connections: net.Socket[] = [];
const requests: SeenRequest[] = [];

before(async () => {
  const ca = testMeshCa();
  serverCerts = await workloadCertificates(ca, 'shop', 'reviews');
  clientCerts = await workloadCertificates(ca, 'shop', 'productpage');
  mtls = new InboundMtls({ certificates: serverCerts, mode: 'STRICT', logger: quiet });
  server = net.createServer((raw) => mtls.handle(raw, (t: TLSSocket, inner, peer) => {
    meshed.push({ inner, peer });
    serveRequests(t, connections, requests, (r) => r.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n${r.index}${r.conn}`));
  }, () => raw.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

after(() => {
  mtls.close();
  server.close();
  for (const s of connections) s.destroy();
  serverCerts.stop();
  clientCerts.stop();
});

function newPool(): { pools: UpstreamPools; fast: FastPool } {
  const pools = new UpstreamPools({ connect: { timeoutMs: 5_000, mtls: new SecureContextCache(clientCerts) } });
  return { pools, fast: new FastPool(pools) };
}

async function get(fast: FastPool, identity: string, path: string): Promise<RecordingSink> {
  const sink = new RecordingSink();
  const lease = fast.send({ address: '127.0.0.1', port: (server.address() as AddressInfo).port, identity }, { method: 'GET', framing: { kind: 'none' }, head: writeRequestHead({ method: 'GET', target: path, host: 'reviews', framing: { kind: 'none' }, fields: [] }) }, sink);
  lease.end();
  await settled(sink, 5_000);
  return sink;
}

test('requests over mesh mTLS: ALPN meshlet/http1.1, the caller identified, the connection reused', async () => {
  const { pools, fast } = newPool();
  const before = connections.length;
  const a = await get(fast, SERVER_ID, '/a');
  const b = await get(fast, SERVER_ID, '/b');
  assert.deepEqual([a.events, b.events], [['head 200', 'end'], ['head 200', 'end']]);
  const conn = connections.length - 1;
  assert.deepEqual([a.body, b.body], [`0${conn}`, `1${conn}`]);
  assert.equal(connections.length, before + 1, 'one TLS connection for both');
  assert.deepEqual(meshed.at(-1), { inner: 'http1', peer: CLIENT_ID });
  assert.deepEqual(requests.slice(-2).map((r) => r.head.split('\r\n')[0]), ['GET /a HTTP/1.1', 'GET /b HTTP/1.1']);
  await pools.close();
});

test('an endpoint presenting another identity than expected: connect error, no request sent', async () => {
  const { pools, fast } = newPool();
  const seen = requests.length;
  const sink = await get(fast, 'spiffe://cluster.local/ns/shop/sa/ratings', '/x');
  assert.ok(sink.error instanceof UpstreamConnectError, String(sink.error));
  assert.match(sink.error.message, /ratings/);
  assert.equal(sink.responseStarted, false);
  assert.equal(requests.length, seen);
  assert.deepEqual(pools.stats(), { active: 0, idle: 0, queued: 0, h2Sessions: 0 });
  await pools.close();
});
