// node:tls options for meshlet-to-meshlet hops. One SecureContext per workload certificate,
// built once and cached: connections take the context current when they start, so a rotation
// swaps it for new connections while live ones keep theirs until they close (nothing dropped).
// Outbound: TLS 1.3 only, our certificate, ALPN naming the protocol inside, the chain verified
// against the mesh roots, and the peer's URI SAN required to equal the endpoint's expected SPIFFE
// ID (checkServerIdentity; hostnames mean nothing here). Inbound: a non-listening tls.Server with
// the same material that requires and verifies a client certificate; the caller reads the
// identity with peerIdentity().
import { randomBytes } from 'node:crypto';
import { createSecureContext, createServer, type ConnectionOptions, type SecureContext, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls';
import { MESHLET_ALPNS, type MeshletAlpn } from '../../api/identity.ts';
import type { WorkloadCertificate } from './certificate-manager.ts';
import { NoWorkloadCertificateError, PeerIdentityMismatchError } from './errors.ts';
import { meshTlsCounts } from './mesh-tls-counts.ts';
import { spiffeIdOf } from './peer-identity.ts';
import { describeTlsFailure } from './tls-failure.ts';

export interface CertificateSource {
  current(): WorkloadCertificate | null;
}

/**
 * TLS 1.3 suites, cheapest first (`ciphers` with TLS_* names only: no TLS 1.2 suite either).
 * AES-128-GCM ahead of Node's default AES-256-GCM: 10 AES rounds per block instead of 14, both on
 * AES-NI / ARMv8 crypto; every request and answer of a mesh hop is a record under it (ADR 0020).
 * ChaCha20-Poly1305 stays allowed, last: it wins only on CPUs without AES instructions.
 */
export const MESH_TLS13_CIPHERSUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

function contextOptions(cert: WorkloadCertificate): SecureContextOptions {
  return { key: cert.keyPem, cert: cert.chainPem.join(''), ca: cert.rootsPem, minVersion: 'TLSv1.3', ciphers: MESH_TLS13_CIPHERSUITES };
}

/** Lifetime of the session tickets the inbound side issues, and how often their keys change. */
const TICKET_LIFETIME_S = 300;
const TICKET_KEY_ROTATION_MS = 3_600_000;

/**
 * TLS 1.3 tickets kept per peer (each used once) and in all (ADR 0020). A burst that grows a pool
 * resumes as many new connections as the stock holds (a full handshake brings 2 tickets, a
 * resumed one 1): 64 covers a pool grown to the bench's 32-64 connections. Each ticket is ~2.2 KB
 * (it carries the peer's RSA certificate), so the total bound keeps the stock under ~9 MB however
 * many peers there are (it was 4 per peer for up to 4 096 peers: up to ~36 MB).
 */
export const TICKETS_PER_PEER = 64;
export const MAX_TICKETS = 4096;

export class SecureContextCache {
  readonly #source: CertificateSource;
  #for: WorkloadCertificate | null = null;
  #context: SecureContext | null = null;
  /** Session tickets from mesh peers, by endpoint and expected identity: a full handshake saved each. */
  readonly #tickets = new Map<string, Buffer[]>();
  /** Tickets in #tickets, all peers together. */
  #count = 0;

  constructor(source: CertificateSource) {
    this.#source = source;
  }

  /** The context of the current certificate; throws NoWorkloadCertificateError before the first. */
  context(): SecureContext {
    const cert = this.#source.current();
    if (!cert) throw new NoWorkloadCertificateError();
    if (cert !== this.#for || !this.#context) {
      this.#context = createSecureContext(contextOptions(cert));
      this.#for = cert;
      // sessions made with the previous certificate (or roots) are not resumed under this one
      this.#tickets.clear();
      this.#count = 0;
    }
    return this.#context;
  }

  /**
   * A ticket for a new connection to `peer` (endpoint and expected identity), taken out: a
   * ticket is offered once (RFC 8446 §C.4), the connection's own tickets replace it.
   */
  takeTicket(peer: string): Buffer | undefined {
    const list = this.#tickets.get(peer);
    if (list === undefined) return undefined;
    const ticket = list.pop();
    this.#count--;
    if (list.length === 0) this.#tickets.delete(peer);
    return ticket;
  }

  /**
   * Keeps `ticket` from a connection made with `context`; one from a connection that began before
   * our certificate rotated (its ticket can arrive after the rotation cleared the others) would
   * resume under the previous certificate, so it is dropped.
   */
  keepTicket(peer: string, ticket: Buffer, context: SecureContext): void {
    if (context !== this.#context) return;
    let list = this.#tickets.get(peer);
    if (list === undefined) {
      list = [];
      this.#tickets.set(peer, list);
    }
    list.push(ticket);
    if (list.length > TICKETS_PER_PEER) list.shift(); // its oldest goes
    else if (++this.#count > MAX_TICKETS) this.#dropOldest();
  }

  /** Over the total bound: the oldest ticket of the peer that has held tickets longest goes. */
  #dropOldest(): void {
    const [peer, list] = this.#tickets.entries().next().value!;
    list.shift();
    this.#count--;
    if (list.length === 0) this.#tickets.delete(peer);
  }
}

/** Returns an error (node:tls fails the handshake with it) unless the peer is `expected`. */
export function requirePeerIdentity(expected: string): NonNullable<ConnectionOptions['checkServerIdentity']> {
  return (_host, cert) => {
    const presented = spiffeIdOf(cert);
    return presented === expected ? undefined : new PeerIdentityMismatchError(expected, presented);
  };
}

export interface OutboundTlsOptions {
  expectedSpiffeId: string;
  alpn: MeshletAlpn;
}

/** Spread into tls.connect() with host and port (or socket). */
export function outboundTlsOptions(cache: SecureContextCache, o: OutboundTlsOptions): ConnectionOptions {
  return {
    secureContext: cache.context(),
    minVersion: 'TLSv1.3',
    ALPNProtocols: [o.alpn],
    rejectUnauthorized: true,
    checkServerIdentity: requirePeerIdentity(o.expectedSpiffeId),
  };
}

export interface InboundTlsServerOptions {
  source: CertificateSource & { onChange(l: (c: WorkloadCertificate) => void): () => void };
  alpn?: readonly MeshletAlpn[];
  /** A verified mTLS connection and its peer's SPIFFE ID. */
  onConnection: (socket: TLSSocket, peer: string) => void;
  /** A refused peer (untrusted, expired, no certificate, no SPIFFE ID): already destroyed. */
  onRefused?: (reason: string, socket: TLSSocket) => void;
  handshakeTimeoutMs?: number;
}

/**
 * A tls.Server that never listens: the inbound side, having peeked a ClientHello with a meshlet
 * ALPN, hands it the socket (`server.emit('connection', socket)`); only verified peers with a
 * SPIFFE ID reach onConnection. Not a bare `new TLSSocket({ isServer })`: that completes the
 * handshake with an unverified client and never says so. The server itself does not reject
 * (rejectUnauthorized: false) so that a refusal can be reported with its reason; under TLS 1.3
 * the client has finished its side before the server judges it either way, so it sees a close.
 * Rotation replaces the server's context for new connections; live ones keep theirs.
 */
export function createInboundTlsServer(o: InboundTlsServerOptions): { server: Server; close: () => void } {
  const cert = o.source.current();
  if (!cert) throw new NoWorkloadCertificateError();
  const server = createServer({
    ...contextOptions(cert),
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: [...(o.alpn ?? MESHLET_ALPNS)],
    handshakeTimeout: o.handshakeTimeoutMs ?? 10_000,
    // our suite order, not the caller's (Node's default is the caller's: false): a meshlet
    // from before MESH_TLS13_CIPHERSUITES offers AES-256-GCM first
    honorCipherOrder: true,
    // TLS 1.3 tickets (resumption by mesh peers) live this long; a resumed session keeps the
    // client certificate verified by the full handshake that made it
    sessionTimeout: TICKET_LIFETIME_S,
  });
  // A new context (rotation) comes with new session-ticket keys, so tickets issued under the
  // previous certificate are not resumed; between rotations the keys change every
  // TICKET_KEY_ROTATION_MS anyway, bounding what a leaked key could resume (ADR 0020).
  const unsubscribe = o.source.onChange((c) => server.setSecureContext(contextOptions(c)));
  const rotate = setInterval(() => server.setTicketKeys(randomBytes(48)), TICKET_KEY_ROTATION_MS).unref();
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.isSessionReused()) meshTlsCounts.serverResumed++;
    else meshTlsCounts.serverFull++;
    const cert = socket.getPeerCertificate();
    const peer = socket.authorized ? spiffeIdOf(cert) : null;
    if (peer) return o.onConnection(socket, peer);
    const code = String(socket.authorizationError);
    // No certificate at all shows as an empty object (and an issuer error): say the plain thing.
    const reason = !cert || Object.keys(cert).length === 0 ? 'the peer presented no client certificate'
      : socket.authorized ? "the peer's certificate has no SPIFFE ID" : describeTlsFailure({ code, message: code });
    socket.destroy();
    o.onRefused?.(reason, socket);
  });
  return { server, close: () => { unsubscribe(); clearInterval(rotate); server.close(); } };
}
