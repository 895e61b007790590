// TLS 1.3 session resumption between sidecars (ADR 0020): a mesh connection keeps the tickets its
// peer sends, per endpoint and expected identity, and the next connection to that peer resumes
// with one (no certificate signature or chain verification on either side); the inbound side
// still names the caller of a resumed session. A resumed session shows the client no
// certificate, so what binds it to the identity is the ticket: only the server that issued it
// (its ticket keys) can resume it. Another workload at the same address (a reused pod IP) cannot:
// the handshake falls back to a full one and the SPIFFE check refuses it; and once the routing
// table names the new workload, no ticket of the old one is offered at all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import tls, { type TLSSocket } from 'node:tls';
import { MESHLET_ALPN } from '../../api/identity.ts';
import type { CertificateManager } from '../identity/index.ts';
import { meshTlsCounts } from '../identity/mesh-tls-counts.ts';
import { createInboundTlsServer, SecureContextCache } from '../identity/tls-options.ts';
import { testMeshCa, workloadCertificates } from '../../test/support/mesh-identity.ts';
import { connectSocket, upstreamSocketsOpened, UpstreamConnectError, type Endpoint } from './connect.ts';

const REVIEWS = 'spiffe://cluster.local/ns/shop/sa/reviews';
const CLIENT = 'spiffe://cluster.local/ns/shop/sa/productpage';
const RATINGS = 'spiffe://cluster.local/ns/shop/sa/ratings';

interface Seen { peer: string; resumed: boolean; bytes: number }

/** A mesh inbound for `certs` on `port` (0: any), with fixed ticket keys; records each verified connection. */
async function inbound(certs: CertificateManager, port = 0, ticketKeys = randomBytes(48)): Promise<{ port: number; seen: Seen[]; close: () => void }> {
  const seen: Seen[] = [];
  const tls = createInboundTlsServer({
    source: certs,
    alpn: [MESHLET_ALPN.http1],
    onConnection: (socket: TLSSocket, peer) => {
      const s: Seen = { peer, resumed: socket.isSessionReused(), bytes: 0 };
      seen.push(s);
      socket.on('data', (d: Buffer) => { s.bytes += d.length; });
      socket.on('error', () => undefined);
    },
  });
  tls.server.setTicketKeys(ticketKeys);
  const open = new Set<net.Socket>();
  const server = net.createServer((raw) => {
    open.add(raw);
    raw.once('close', () => open.delete(raw));
    tls.server.emit('connection', raw);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () => { for (const s of open) s.destroy(); server.close(); tls.close(); },
  };
}

let reviews: CertificateManager;
let ratings: CertificateManager;
let client: CertificateManager;
let holder: net.Server;

before(async () => {
  holder = net.createServer().listen(0, '127.0.0.1'); // keeps the loop alive while keys are made
  const ca = testMeshCa();
  reviews = await workloadCertificates(ca, 'shop', 'reviews');
  ratings = await workloadCertificates(ca, 'shop', 'ratings');
  client = await workloadCertificates(ca, 'shop', 'productpage');
});

after(async () => {
  holder.close();
  await Promise.all([reviews.stop(), ratings.stop(), client.stop()]);
});

/** Connects, waits for the peer's tickets to arrive, closes; the client socket's view. */
async function visit(cache: SecureContextCache, endpoint: Endpoint): Promise<{ resumed: boolean }> {
  const socket = await connectSocket(endpoint, { timeoutMs: 5_000, mtls: cache }, MESHLET_ALPN.http1) as TLSSocket;
  const resumed = socket.isSessionReused();
  socket.write('ping');
  // TLS 1.3 tickets follow the handshake: read until they came (or a bounded wait)
  await Promise.race([once(socket, 'session'), new Promise((r) => setTimeout(r, 2_000))]);
  socket.destroy();
  return { resumed };
}

test('the second connection to a mesh peer resumes its session; the inbound still names the caller', async () => {
  const server = await inbound(reviews);
  try {
    const cache = new SecureContextCache(client);
    const ep: Endpoint = { address: '127.0.0.1', port: server.port, identity: REVIEWS };
    const first = await visit(cache, ep);
    const second = await visit(cache, ep);
    assert.deepEqual([first.resumed, second.resumed], [false, true]);
    assert.deepEqual(server.seen.map((s) => [s.peer, s.resumed]), [[CLIENT, false], [CLIENT, true]]);
  } finally { server.close(); }
});

test('another workload at the same address cannot resume the ticket: a full handshake, refused for its identity', async () => {
  const real = await inbound(reviews);
  const cache = new SecureContextCache(client);
  const ep: Endpoint = { address: '127.0.0.1', port: real.port, identity: REVIEWS };
  await visit(cache, ep); // a ticket from reviews, kept for (address, port, reviews)
  real.close();
  // the address now belongs to ratings (its own ticket keys); the table still says reviews
  const other = await inbound(ratings, ep.port);
  try {
    await assert.rejects(connectSocket(ep, { timeoutMs: 5_000, mtls: cache }, MESHLET_ALPN.http1), (err: Error) => {
      assert.ok(err instanceof UpstreamConnectError);
      assert.match(err.message, /ratings, not the expected .*reviews/);
      return true;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(other.seen.filter((s) => s.resumed || s.bytes > 0).length, 0, 'not resumed, nothing sent');
    // once the table names ratings, the reviews ticket is not offered: a full handshake, accepted
    const now = await visit(cache, { ...ep, identity: RATINGS });
    assert.equal(now.resumed, false);
  } finally { other.close(); }
});

/** Opens `n` connections to `endpoint` at once, waits for each one's tickets, closes them all. */
async function burst(cache: SecureContextCache, endpoint: Endpoint, n: number): Promise<void> {
  const sockets = await Promise.all(Array.from({ length: n }, () => connectSocket(endpoint, { timeoutMs: 10_000, mtls: cache }, MESHLET_ALPN.http1) as Promise<TLSSocket>));
  await Promise.all(sockets.map(async (socket) => {
    let tickets = 0;
    const two = new Promise<void>((resolve) => socket.on('session', () => { if (++tickets === (socket.isSessionReused() ? 1 : 2)) resolve(); }));
    socket.write('ping');
    await Promise.race([two, new Promise((r) => setTimeout(r, 3_000))]);
  }));
  for (const s of sockets) s.destroy();
}

test('a burst of new connections to a peer resumes with the tickets earlier connections brought, not only 4', async () => {
  const server = await inbound(reviews);
  try {
    const cache = new SecureContextCache(client);
    const ep: Endpoint = { address: '127.0.0.1', port: server.port, identity: REVIEWS };
    await burst(cache, ep, 8); // 8 full handshakes: 2 tickets each
    const second = server.seen.length;
    await burst(cache, ep, 8);
    const resumed = server.seen.slice(second).filter((s) => s.resumed).length;
    assert.equal(resumed, 8, `resumed in the second burst of 8: ${resumed}`);
    assert.ok(server.seen.slice(second).every((s) => s.peer === CLIENT), 'every caller named');
  } finally { server.close(); }
});

test('the counters /metrics reads say each handshake, full or resumed, on both sides; a refused peer is no client handshake', async () => {
  const server = await inbound(reviews);
  const before = { ...meshTlsCounts };
  const opened = upstreamSocketsOpened.mtls;
  try {
    const cache = new SecureContextCache(client);
    const ep: Endpoint = { address: '127.0.0.1', port: server.port, identity: REVIEWS };
    await visit(cache, ep);
    await visit(cache, ep);
    await visit(cache, ep);
    const delta = (k: keyof typeof meshTlsCounts): number => meshTlsCounts[k] - before[k];
    assert.deepEqual([delta('clientFull'), delta('clientResumed'), delta('serverFull'), delta('serverResumed')], [1, 2, 1, 2]);
    assert.equal(upstreamSocketsOpened.mtls - opened, 3);
    // the table expects ratings at reviews' address: a full handshake our side refuses, not counted
    await assert.rejects(connectSocket({ ...ep, identity: RATINGS }, { timeoutMs: 5_000, mtls: cache }, MESHLET_ALPN.http1));
    assert.deepEqual([delta('clientFull'), delta('clientResumed')], [1, 2]);
    assert.equal(upstreamSocketsOpened.mtls - opened, 4);
  } finally { server.close(); }
});

test('the check after node:tls\'s: a wrong peer let through is refused and is no client handshake; a right one counts exactly one', async () => {
  // node:tls's identity check (checkServerIdentity: requirePeerIdentity) refuses a wrong peer
  // before `secureConnect`, so the refused connection above never reaches connect.ts's own check
  // there (the one resumed sessions rely on) nor its counters: a count misplaced before that
  // check could not fail that case. Here the first check lets every peer through (taken out of
  // the options connect.ts passes to tls.connect), so the second one and its counters are reached.
  const server = await inbound(reviews);
  const connect = tls.connect;
  tls.connect = ((options: tls.ConnectionOptions) => connect({ ...options, checkServerIdentity: () => undefined })) as typeof tls.connect;
  const before = { ...meshTlsCounts };
  const delta = (k: keyof typeof meshTlsCounts): number => meshTlsCounts[k] - before[k];
  try {
    const ep: Endpoint = { address: '127.0.0.1', port: server.port, identity: RATINGS };
    await assert.rejects(connectSocket(ep, { timeoutMs: 5_000, mtls: new SecureContextCache(client) }, MESHLET_ALPN.http1), (err: Error) => {
      assert.ok(err instanceof UpstreamConnectError);
      assert.match(err.message, /reviews, not the expected .*ratings/);
      return true;
    });
    assert.deepEqual([delta('clientFull'), delta('clientResumed')], [0, 0], 'a refused peer is no client handshake');
    await visit(new SecureContextCache(client), { ...ep, identity: REVIEWS });
    assert.deepEqual([delta('clientFull'), delta('clientResumed')], [1, 0], 'a verified peer: exactly one full handshake');
  } finally {
    tls.connect = connect;
    server.close();
  }
});
