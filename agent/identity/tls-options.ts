// node:tls options for meshlet-to-meshlet hops. One SecureContext per workload certificate,
// built once and cached: connections take the context current when they start, so a rotation
// swaps it for new connections while live ones keep theirs until they close (nothing dropped).
// Outbound: TLS 1.3 only, our certificate, ALPN naming the protocol inside, the chain verified
// against the mesh roots, and the peer's URI SAN required to equal the endpoint's expected SPIFFE
// ID (checkServerIdentity; hostnames mean nothing here). Inbound: a non-listening tls.Server with
// the same material that requires and verifies a client certificate; the caller reads the
// identity with peerIdentity().
import { createSecureContext, createServer, type ConnectionOptions, type SecureContext, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls';
import { MESHLET_ALPNS, type MeshletAlpn } from '../../api/identity.ts';
import type { WorkloadCertificate } from './certificate-manager.ts';
import { NoWorkloadCertificateError, PeerIdentityMismatchError } from './errors.ts';
import { spiffeIdOf } from './peer-identity.ts';
import { describeTlsFailure } from './tls-failure.ts';

export interface CertificateSource {
  current(): WorkloadCertificate | null;
}

function contextOptions(cert: WorkloadCertificate): SecureContextOptions {
  return { key: cert.keyPem, cert: cert.chainPem.join(''), ca: cert.rootsPem, minVersion: 'TLSv1.3' };
}

export class SecureContextCache {
  readonly #source: CertificateSource;
  #for: WorkloadCertificate | null = null;
  #context: SecureContext | null = null;

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
    }
    return this.#context;
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
  });
  const unsubscribe = o.source.onChange((c) => server.setSecureContext(contextOptions(c)));
  server.on('secureConnection', (socket: TLSSocket) => {
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
  return { server, close: () => { unsubscribe(); server.close(); } };
}
