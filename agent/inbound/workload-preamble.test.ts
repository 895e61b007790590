// The TCP workload preamble over real sockets on 127.0.0.1: the reader alone (split chunks,
// bytes after it kept, timeout, early close), then spliceTcp's client side against this
// inbound's mTLS termination and against a server that knows only `meshlet/tcp` (an older
// peer), and an older client (no offer) against this inbound: every byte the app's client sent
// arrives unchanged, and the workload is learnt only when both ends speak the preamble.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ProxyCore } from '../engine/core.ts';
import { connectSocket } from '../engine/connect.ts';
import { spliceTcp } from '../engine/tcp-proxy.ts';
import { SecureContextCache, createInboundTlsServer } from '../identity/tls-options.ts';
import type { CertificateManager } from '../identity/index.ts';
import { startPeerWorkload, workloadPreamble } from '../telemetry/peer-workload.ts';
import { testMeshCa, workloadCertificates } from '../../test/support/mesh-identity.ts';
import { InboundMtls } from './mesh-mtls.ts';
import { readWorkloadPreamble } from './workload-preamble.ts';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet } as never;
const SERVER_ID = 'spiffe://cluster.local/ns/shop/sa/reviews';
const CLIENT_ID = 'spiffe://cluster.local/ns/shop/sa/productpage';

async function listen(onConnection: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
const portOf = (s: net.Server): number => (s.address() as AddressInfo).port;

/** Everything `socket` receives until the peer ends it (bounded by 5 s). */
function collect(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error('nothing complete within 5 s')), 5_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('end', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
    socket.once('error', (e) => { clearTimeout(timer); reject(e); });
    // A reader that stopped after the preamble leaves the stream paused, as spliceTcp expects.
    socket.resume();
  });
}

describe('readWorkloadPreamble', () => {
  test('a preamble split over chunks; what follows it stays for the next reader', async () => {
    const got = new Promise<[string, Buffer]>((resolve, reject) => {
      void listen((s) => {
        readWorkloadPreamble(s, 2_000).then(async (name) => resolve([name, await collect(s)]), reject);
      }).then((server) => {
        const c = net.connect(portOf(server), '127.0.0.1', () => {
          const bytes = Buffer.concat([workloadPreamble('productpage-v1'), Buffer.from('PING\r\n')]);
          c.write(bytes.subarray(0, 1));
          setTimeout(() => { c.write(bytes.subarray(1, 6)); setTimeout(() => c.end(bytes.subarray(6)), 20); }, 20);
        });
        c.once('close', () => server.close());
      });
    });
    const [name, rest] = await got;
    assert.equal(name, 'productpage-v1');
    assert.equal(rest.toString(), 'PING\r\n');
  });

  test('no preamble in time, or a close before it is complete, is an error', async () => {
    for (const [send, timeoutMs, want] of [[null, 100, /within 100 ms/], [Buffer.from([9, 0x61]), 2_000, /closed before/]] as const) {
      let settle!: (v: string) => void;
      const outcome = new Promise<string>((r) => { settle = r; });
      const server = await listen((s) => {
        readWorkloadPreamble(s, timeoutMs).then((name) => settle(`resolved ${name}`), (e: Error) => settle(e.message));
      });
      const c = net.connect(portOf(server), '127.0.0.1');
      c.on('error', () => undefined);
      if (send) c.end(send);
      assert.match(await outcome, want);
      c.destroy();
      server.close();
    }
  });
});

describe('the preamble across a mesh mTLS TCP hop', () => {
  let serverCerts: CertificateManager;
  let clientCerts: CertificateManager;
  let core: ProxyCore;
  let stopAnnounce: () => void;
  const servers: net.Server[] = [];

  before(async () => {
    const ca = testMeshCa();
    serverCerts = await workloadCertificates(ca, 'shop', 'reviews');
    clientCerts = await workloadCertificates(ca, 'shop', 'productpage');
    core = new ProxyCore({ mtls: new SecureContextCache(clientCerts), log: quiet });
    stopAnnounce = startPeerWorkload({ name: 'productpage-v1', namespace: 'shop', pod: 'productpage-v1-5f6d7c8b9d-k8w4z', principal: CLIENT_ID });
  });
  after(() => {
    stopAnnounce();
    for (const s of servers) s.close();
    serverCerts.stop();
    clientCerts.stop();
  });

  /** This inbound's termination: resolves with the peer, the named workload and every byte after. */
  async function newInbound(): Promise<{ port: number; got: Promise<{ peer: string; workload: string | null; bytes: string }> }> {
    const mtls = new InboundMtls({ certificates: serverCerts, mode: 'STRICT', logger: quiet });
    let resolve!: (v: { peer: string; workload: string | null; bytes: string }) => void;
    const got = new Promise<{ peer: string; workload: string | null; bytes: string }>((r) => { resolve = r; });
    const server = await listen((raw) => mtls.handle(raw, (t: TLSSocket, inner, peer) => {
      assert.equal(inner, 'tcp');
      void collect(t).then((b) => resolve({ peer, workload: mtls.peerWorkload(t), bytes: b.toString() }));
    }, () => raw.destroy()));
    servers.push(server);
    return { port: portOf(server), got };
  }

  /** An app client whose bytes spliceTcp carries to `port` as the outbound side. */
  async function splice(port: number, payload: string): Promise<void> {
    const front = await listen((s) => void spliceTcp(core, 'outbound', s, { address: '127.0.0.1', port, identity: SERVER_ID }));
    servers.push(front);
    const c = net.connect(portOf(front), '127.0.0.1', () => c.end(payload));
    c.resume();
  }

  test('both ends new: the inbound learns the caller\'s workload; the app\'s bytes arrive unchanged', async () => {
    const inbound = await newInbound();
    await splice(inbound.port, 'hello\x00\x01 bytes');
    assert.deepEqual(await inbound.got, { peer: CLIENT_ID, workload: 'productpage-v1', bytes: 'hello\x00\x01 bytes' });
  });

  test('an older server (meshlet/tcp only) gets no preamble: the bytes it reads are the app\'s', async () => {
    let resolve!: (v: string) => void;
    const got = new Promise<string>((r) => { resolve = r; });
    const old = createInboundTlsServer({ source: serverCerts, onConnection: (t) => { assert.equal(t.alpnProtocol, 'meshlet/tcp'); void collect(t).then((b) => resolve(b.toString())); } });
    const server = await listen((raw) => old.server.emit('connection', raw));
    servers.push(server);
    await splice(portOf(server), 'app bytes');
    assert.equal(await got, 'app bytes');
    old.close();
  });

  test('an older client (no offer) reaches this inbound as meshlet/tcp, workload unknown, bytes unchanged', async () => {
    const inbound = await newInbound();
    const c = await connectSocket({ address: '127.0.0.1', port: inbound.port, identity: SERVER_ID }, { timeoutMs: 5_000, mtls: new SecureContextCache(clientCerts) });
    c.end('\x05abcde');
    c.resume();
    assert.deepEqual(await inbound.got, { peer: CLIENT_ID, workload: null, bytes: '\x05abcde' });
  });
});
