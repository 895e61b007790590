// Real TLS on 127.0.0.1: certificates from the mesh CA (controller/identity), keys and CSRs from
// the agent's own code, and the options of tls-options.ts on both ends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { connect, createSecureContext, createServer as createTlsServer, type SecureContext, type TLSSocket as TlsSocketType } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { generateRoot, issueServingCertificate, issueWorkloadCertificate, loadCa, type CertificateAuthority } from '../../controller/identity/index.ts';
import { makePluginCa } from '../../controller/identity/test-support.ts';
import type { MeshletAlpn } from '../../api/identity.ts';
import type { WorkloadCertificate } from './certificate-manager.ts';
import { buildCsr, generateWorkloadKey } from './csr.ts';
import { PeerIdentityMismatchError } from './errors.ts';
import { peerIdentity } from './peer-identity.ts';
import { describeTlsFailure } from './tls-failure.ts';
import { MAX_TICKETS, SecureContextCache, TICKETS_PER_PEER, createInboundTlsServer, outboundTlsOptions } from './tls-options.ts';

const H = 3_600_000;
const mesh = loadCa(generateRoot({ now: new Date(), trustDomain: 'cluster.local' }), new Date());
const foreign = loadCa(generateRoot({ now: new Date(), trustDomain: 'cluster.local' }), new Date());
const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const WEB = 'spiffe://cluster.local/ns/web/sa/frontend';

function workload(ca: CertificateAuthority, ns: string, sa: string, o: { now?: Date; lifetimeMs?: number } = {}): WorkloadCertificate {
  const key = generateWorkloadKey();
  const out = issueWorkloadCertificate(ca, { csrPem: buildCsr(key), identity: { trustDomain: 'cluster.local', namespace: ns, serviceAccount: sa }, now: o.now ?? new Date(), lifetimeMs: o.lifetimeMs });
  // A workload trusts its own mesh's roots, whoever issued its certificate.
  return { keyPem: key.privateKeyPem, chainPem: out.chainPem, rootsPem: mesh.rootsPem, notBefore: out.notBefore, notAfter: out.notAfter, spiffeId: `spiffe://cluster.local/ns/${ns}/sa/${sa}` };
}

interface Holder { current(): WorkloadCertificate | null; set(c: WorkloadCertificate): void; onChange(l: (c: WorkloadCertificate) => void): () => void }

/** A holder whose certificate tests swap, as CertificateManager does on renewal. */
function holder(cert: WorkloadCertificate | null): Holder {
  let c = cert;
  const listeners = new Set<(c: WorkloadCertificate) => void>();
  return {
    current: () => c,
    set(n) {
      c = n;
      for (const l of listeners) l(n);
    },
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

interface ServerSide { port: number; refusals: string[]; server: Server; sockets: Set<Socket>; close(): void }

/** An inbound: a plain listener hands sockets to the TLS server; says `<peer id>|<alpn>`, then echoes. */
async function inbound(source: Holder): Promise<ServerSide> {
  const tls = createInboundTlsServer({
    source,
    onConnection(t, peer) {
      assert.equal(peerIdentity(t), peer);
      t.write(`${peer}|${String(t.alpnProtocol)}\n`);
      t.pipe(t);
    },
    onRefused: (reason) => side.refusals.push(reason),
  });
  const tlsServer = tls.server;
  const side: ServerSide = {
    port: 0, refusals: [], server: createServer(), sockets: new Set(),
    close() {
      for (const s of side.sockets) s.destroy();
      side.server.close();
      tls.close();
    },
  };
  side.server.on('connection', (raw) => {
    side.sockets.add(raw);
    raw.on('close', () => side.sockets.delete(raw));
    tlsServer.emit('connection', raw);
  });
  await new Promise<void>((r) => side.server.listen(0, '127.0.0.1', r));
  side.port = (side.server.address() as AddressInfo).port;
  return side;
}

function dial(port: number, cache: SecureContextCache, expected: string, alpn: MeshletAlpn = 'meshlet/h2', secureContext?: SecureContext): Promise<{ socket: TlsSocketType; greeting: string }> {
  return new Promise((resolve, reject) => {
    const options = outboundTlsOptions(cache, { expectedSpiffeId: expected, alpn });
    const socket = connect({ host: '127.0.0.1', port, ...options, ...(secureContext ? { secureContext } : {}) });
    socket.once('error', reject);
    // TLS 1.3: a client is "connected" before the server has judged its certificate; a refusal
    // arrives as an alert or a close instead of the greeting.
    socket.once('close', () => reject(Object.assign(new Error('the server closed the connection before greeting'), { code: 'ECONNRESET' })));
    socket.once('data', (d: Buffer) => resolve({ socket, greeting: d.toString().trim() }));
  });
}

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    const got = await p;
    (got as { socket?: TlsSocketType }).socket?.destroy();
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('the handshake should have failed');
}

const cartHolder = holder(workload(mesh, 'shop', 'cart'));
const webCache = new SecureContextCache(holder(workload(mesh, 'web', 'frontend')));
let cart: ServerSide;

before(async () => {
  cart = await inbound(cartHolder);
});
after(() => cart.close());

describe('mTLS between two meshlet workloads', () => {
  test('handshakes with TLS 1.3; each side learns the other SPIFFE ID; ALPN names the inner protocol', async () => {
    for (const alpn of ['meshlet/h2', 'meshlet/http1.1', 'meshlet/tcp'] as const) {
      const { socket, greeting } = await dial(cart.port, webCache, CART, alpn);
      assert.equal(greeting, `${WEB}|${alpn}`);
      assert.equal(socket.getProtocol(), 'TLSv1.3');
      assert.equal(socket.alpnProtocol, alpn);
      socket.destroy();
    }
  });

  test('the record cipher is TLS_AES_128_GCM_SHA256 whichever side orders the suites; ChaCha20 still connects', async () => {
    const suiteWith = async (cache: SecureContextCache, ciphers?: string): Promise<string> => {
      const own = workload(mesh, 'web', 'frontend');
      // a caller with its own suite order (Node's default: AES-256-GCM first, as meshlets had)
      const secureContext = ciphers === undefined ? cache.context()
        : createSecureContext({ key: own.keyPem, cert: own.chainPem.join(''), ca: own.rootsPem, minVersion: 'TLSv1.3', ...(ciphers ? { ciphers } : {}) });
      const { socket, greeting } = await dial(cart.port, cache, CART, 'meshlet/h2', secureContext);
      assert.equal(greeting, `${WEB}|meshlet/h2`);
      const suite = socket.getCipher().name;
      socket.destroy();
      return suite;
    };
    assert.equal(await suiteWith(webCache), 'TLS_AES_128_GCM_SHA256');
    assert.equal(await suiteWith(webCache, ''), 'TLS_AES_128_GCM_SHA256', "the inbound's order wins over a caller's default order");
    assert.equal(await suiteWith(webCache, 'TLS_CHACHA20_POLY1305_SHA256'), 'TLS_CHACHA20_POLY1305_SHA256');
    // the outbound side's own order, toward a server that leaves the choice to the client
    const server = workload(mesh, 'shop', 'cart');
    const plain = createTlsServer({ key: server.keyPem, cert: server.chainPem.join(''), ALPNProtocols: ['meshlet/h2'], honorCipherOrder: false }, (t) => t.end('hello\n'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const { socket } = await dial((plain.address() as AddressInfo).port, webCache, CART);
      assert.equal(socket.getCipher().name, 'TLS_AES_128_GCM_SHA256');
      socket.destroy();
    } finally {
      plain.close();
    }
  });

  test('a peer with another identity is refused by the client, saying who it was', async () => {
    const err = await failure(dial(cart.port, webCache, 'spiffe://cluster.local/ns/shop/sa/payments'));
    assert.ok(err instanceof PeerIdentityMismatchError);
    assert.equal(err.code, 'E_TLS_PEER_IDENTITY');
    assert.equal(err.message, `the peer is ${CART}, not the expected spiffe://cluster.local/ns/shop/sa/payments`);
  });

  const badServers: [string, () => WorkloadCertificate, string, RegExp][] = [
    ['a foreign CA', () => workload(foreign, 'shop', 'cart'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', /not issued by this mesh's CA/],
    ['an expired certificate', () => workload(mesh, 'shop', 'cart', { now: new Date(Date.now() - 3 * H), lifetimeMs: H }), 'CERT_HAS_EXPIRED', /has expired/],
    ['a not yet valid certificate', () => workload(mesh, 'shop', 'cart', { now: new Date(Date.now() + H) }), 'CERT_NOT_YET_VALID', /not valid yet/],
  ];
  for (const [name, make, code, why] of badServers) {
    test(`a server with ${name} fails the client handshake with a clear reason`, async () => {
      const side = await inbound(holder(make()));
      try {
        const err = await failure(dial(side.port, webCache, CART));
        assert.equal(err.code, code);
        assert.match(describeTlsFailure(err), why);
      } finally {
        side.close();
      }
    });
  }

  test('a client with a foreign-CA, expired, not yet valid or no certificate is refused by the inbound side, which says why', async () => {
    const clients: [string, () => Promise<unknown>, RegExp][] = [
      ['foreign', () => dial(cart.port, new SecureContextCache(holder(workload(foreign, 'web', 'frontend'))), CART), /not issued by this mesh's CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/],
      ['expired', () => dial(cart.port, new SecureContextCache(holder(workload(mesh, 'web', 'frontend', { now: new Date(Date.now() - 3 * H), lifetimeMs: H }))), CART), /has expired \(its sidecar could not renew it\) \(CERT_HAS_EXPIRED\)$/],
      ['not yet valid', () => dial(cart.port, new SecureContextCache(holder(workload(mesh, 'web', 'frontend', { now: new Date(Date.now() + H) }))), CART), /is not valid yet \(clocks differ by more than the CA's allowance\) \(CERT_NOT_YET_VALID\)$/],
      ['no SPIFFE ID', () => {
        const s = issueServingCertificate(mesh, { dnsNames: ['web.example'], now: new Date() });
        return dial(cart.port, new SecureContextCache(holder({ keyPem: s.keyPem, chainPem: s.chainPem, rootsPem: mesh.rootsPem, notBefore: s.notBefore, notAfter: s.notAfter, spiffeId: '' })), CART);
      }, /certificate has no SPIFFE ID/],
      ['none', () => new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: cart.port, ca: mesh.rootsPem, ALPNProtocols: ['meshlet/h2'], checkServerIdentity: () => undefined });
        s.once('error', reject);
        s.once('close', () => reject(new Error('closed')));
        s.once('data', () => resolve({ socket: s }));
      }), /presented no client certificate/],
    ];
    for (const [name, attempt, why] of clients) {
      cart.refusals.length = 0;
      await failure(attempt());
      assert.equal(cart.refusals.length, 1, name);
      assert.match(cart.refusals[0]!, why);
    }
  });

  test('rotation: new connections get the new certificate, a live connection keeps working', async () => {
    const live = await dial(cart.port, webCache, CART);
    const before = new X509Certificate(live.socket.getPeerX509Certificate()!.raw).serialNumber;
    cartHolder.set(workload(mesh, 'shop', 'cart'));
    const fresh = await dial(cart.port, webCache, CART);
    const after = new X509Certificate(fresh.socket.getPeerX509Certificate()!.raw).serialNumber;
    assert.notEqual(after, before);
    const echoed = new Promise<string>((r) => live.socket.once('data', (d: Buffer) => r(d.toString())));
    live.socket.write('still here');
    assert.equal(await echoed, 'still here');
    live.socket.destroy();
    fresh.socket.destroy();
  });

  test('session tickets: kept per peer for the certificate in use; one from a connection begun before a rotation is dropped', () => {
    const own = holder(workload(mesh, 'web', 'frontend'));
    const cache = new SecureContextCache(own);
    const before = cache.context();
    cache.keepTicket('peer', Buffer.from('t1'), before);
    own.set(workload(mesh, 'web', 'frontend'));
    const after = cache.context();
    assert.equal(cache.takeTicket('peer'), undefined, 'the rotation dropped the tickets made under the previous certificate');
    // a connection opened before the rotation hands its ticket over after it: not kept
    cache.keepTicket('peer', Buffer.from('late'), before);
    assert.equal(cache.takeTicket('peer'), undefined);
    cache.keepTicket('peer', Buffer.from('t2'), after);
    assert.equal(cache.takeTicket('peer')?.toString(), 't2');
    assert.equal(cache.takeTicket('peer'), undefined, 'each ticket is offered once');
  });

  test('session tickets: at most TICKETS_PER_PEER per peer (the newest) and MAX_TICKETS in all (the longest-held peer loses its oldest)', () => {
    const cache = new SecureContextCache(holder(workload(mesh, 'web', 'frontend')));
    const ctx = cache.context();
    for (let i = 0; i < TICKETS_PER_PEER + 3; i++) cache.keepTicket('a', Buffer.from(`a${i}`), ctx);
    const kept: string[] = [];
    for (let t = cache.takeTicket('a'); t !== undefined; t = cache.takeTicket('a')) kept.push(t.toString());
    assert.equal(kept.length, TICKETS_PER_PEER);
    assert.equal(kept.at(-1), 'a3', 'the three oldest went');
    // fill the whole stock over many peers, then one more: the first peer's oldest goes
    const peers = MAX_TICKETS / 4;
    for (let p = 0; p < peers; p++) for (let i = 0; i < 4; i++) cache.keepTicket(`p${p}`, Buffer.from(`p${p}-${i}`), ctx);
    cache.keepTicket('late', Buffer.from('late-0'), ctx);
    const first: string[] = [];
    for (let t = cache.takeTicket('p0'); t !== undefined; t = cache.takeTicket('p0')) first.push(t.toString());
    assert.deepEqual(first, ['p0-3', 'p0-2', 'p0-1'], 'p0-0 dropped for the new ticket');
    assert.equal(cache.takeTicket('late')?.toString(), 'late-0');
    assert.equal(cache.takeTicket(`p${peers - 1}`)?.toString(), `p${peers - 1}-3`, 'other peers keep theirs');
  });

  test('plug-in CA: leaves carry the intermediate, and peers that trust only the user root accept them', async () => {
    const plug = makePluginCa({ now: new Date() });
    const pca = loadCa(plug, new Date());
    const withUserRoot = (c: WorkloadCertificate): WorkloadCertificate => ({ ...c, rootsPem: [plug.userRootPem] });
    const server = workload(pca, 'shop', 'cart');
    assert.equal(server.chainPem.length, 2);
    const side = await inbound(holder(withUserRoot(server)));
    try {
      const { socket, greeting } = await dial(side.port, new SecureContextCache(holder(withUserRoot(workload(pca, 'web', 'frontend')))), CART);
      assert.equal(greeting, `${WEB}|meshlet/h2`);
      socket.destroy();
    } finally {
      side.close();
    }
  });

  test('before the first certificate, options cannot be built (no plaintext fallback by accident)', () => {
    assert.throws(() => outboundTlsOptions(new SecureContextCache(holder(null)), { expectedSpiffeId: CART, alpn: 'meshlet/h2' }), { code: 'E_NO_WORKLOAD_CERTIFICATE' });
  });
});
