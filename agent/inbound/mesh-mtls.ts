// mTLS termination on the inbound side. A TLS ClientHello offering a meshlet ALPN is another
// meshlet hop: it is terminated with this workload's certificate, the caller's chain verified
// against the mesh roots, and the decrypted stream handed back to the listener as the protocol
// the ALPN names, with the caller's SPIFFE ID in the connection's context. Any other TLS is the
// app's own and passes through untouched (PERMISSIVE) or is refused (STRICT), as is plaintext.
import type net from 'node:net';
import type { Server, TLSSocket } from 'node:tls';
import { MESHLET_ALPN, MESHLET_TCP_WORKLOAD_ALPN, isMeshletAlpn, type MeshletAlpn } from '../../api/identity.ts';
import type { Logger } from '../../common/logger.ts';
import type { CertificateSource } from '../identity/tls-options.ts';
import { createInboundTlsServer } from '../identity/tls-options.ts';
import type { WorkloadCertificate } from '../identity/certificate-manager.ts';
import type { DetectedProtocol } from '../listener/detect.ts';
import { workloadFromPreamble } from '../telemetry/peer-workload.ts';
import { peekClientHelloAlpn } from './client-hello.ts';
import { readWorkloadPreamble } from './workload-preamble.ts';

/** PERMISSIVE: plaintext still accepted (migration); STRICT: only mesh mTLS. */
export type MtlsMode = 'PERMISSIVE' | 'STRICT';

export function parseMtlsMode(value: string | undefined, from: string): MtlsMode {
  const v = (value ?? 'PERMISSIVE').trim().toUpperCase();
  if (v === 'PERMISSIVE' || v === 'STRICT') return v;
  throw new Error(`${from} wants PERMISSIVE or STRICT, got '${value}'`);
}

export interface InboundMtlsOptions {
  certificates: CertificateSource & { onChange(l: (c: WorkloadCertificate) => void): () => void };
  mode: MtlsMode;
  logger: Logger;
  /** How long to wait for a complete ClientHello (default 10 s, Linkerd's detect timeout). */
  helloTimeoutMs?: number;
}

// What this side selects, in preference order (the server's order decides): the TCP hop with
// the caller's workload first, so a new caller offering both gets it and an old one `meshlet/tcp`.
const SERVER_ALPNS = [MESHLET_ALPN.h2, MESHLET_ALPN.http1, MESHLET_TCP_WORKLOAD_ALPN, MESHLET_ALPN.tcp] as readonly string[] as readonly MeshletAlpn[];

const INNER: Record<MeshletAlpn, DetectedProtocol> = {
  [MESHLET_ALPN.h2]: 'h2c',
  [MESHLET_ALPN.http1]: 'http1',
  [MESHLET_ALPN.tcp]: 'tcp',
};

function connKey(s: net.Socket): string {
  return `${s.remoteAddress ?? ''}|${s.remotePort ?? 0}`;
}

export class InboundMtls {
  readonly mode: MtlsMode;
  readonly #o: InboundMtlsOptions;
  #server: { server: Server; close: () => void } | null = null;
  #refused = 0;
  #terminated = 0;
  /** TCP hops whose caller named its workload (verified mTLS peers only). */
  readonly #workloads = new WeakMap<net.Socket, string>();

  constructor(o: InboundMtlsOptions) {
    this.#o = o;
    this.mode = o.mode;
  }

  /** This workload's SPIFFE ID (for x-forwarded-client-cert's By=), once it has a certificate. */
  ownIdentity(): string | null {
    return this.#o.certificates.current()?.spiffeId ?? null;
  }

  get stats(): { terminated: number; refused: number } {
    return { terminated: this.#terminated, refused: this.#refused };
  }

  /**
   * Handles a connection that starts with a TLS ClientHello. `onMesh` receives the decrypted
   * stream, the protocol inside and the verified caller; `onOther` the untouched socket.
   */
  handle(socket: net.Socket, onMesh: (tlsSocket: TLSSocket, inner: DetectedProtocol, peer: string) => void, onOther: (socket: net.Socket) => void): void {
    void peekClientHelloAlpn(socket, this.#o.helloTimeoutMs ?? 10_000).then((alpn) => {
      const meshlet = alpn.find(isMeshletAlpn);
      if (!meshlet) {
        if (this.mode === 'STRICT') return this.#refuse(socket, 'STRICT mTLS: TLS without a meshlet ALPN (not a mesh peer)');
        onOther(socket);
        return;
      }
      const server = this.#tlsServer();
      if (!server) return this.#refuse(socket, 'no workload certificate yet: cannot terminate mesh mTLS');
      // The server reports the TLS socket, not ours: the peer's address and port (the same
      // for both, and unique among live connections) say which connection it is.
      const key = connKey(socket);
      this.#pending.set(key, onMesh);
      socket.once('close', () => this.#pending.delete(key));
      // Still paused with the ClientHello unshifted: the TLS socket reads those bytes first.
      server.emit('connection', socket);
    });
  }

  /** The workload a mesh TCP caller named in its preamble (peer-workload.ts), else null. */
  peerWorkload(socket: net.Socket): string | null {
    return this.#workloads.get(socket) ?? null;
  }

  /** Plaintext arrived on an inbound connection: under STRICT it is refused (and counted). */
  refusesPlaintext(): boolean {
    return this.mode === 'STRICT';
  }

  countRefusal(reason: string, remote: string): void {
    this.#refused++;
    this.#o.logger.warn('inbound: refused', { reason, peer: remote });
  }

  readonly #pending = new Map<string, (tlsSocket: TLSSocket, inner: DetectedProtocol, peer: string) => void>();

  #tlsServer(): Server | null {
    if (this.#server) return this.#server.server;
    if (!this.#o.certificates.current()) return null;
    this.#server = createInboundTlsServer({
      source: this.#o.certificates,
      alpn: SERVER_ALPNS,
      onConnection: (tlsSocket, peer) => {
        const key = connKey(tlsSocket);
        const onMesh = this.#pending.get(key);
        this.#pending.delete(key);
        if (!onMesh) {
          tlsSocket.destroy();
          return;
        }
        this.#terminated++;
        const alpn = tlsSocket.alpnProtocol;
        if (alpn === MESHLET_TCP_WORKLOAD_ALPN) {
          readWorkloadPreamble(tlsSocket, this.#o.helloTimeoutMs ?? 10_000).then((name) => {
            const workload = workloadFromPreamble(name);
            if (workload) this.#workloads.set(tlsSocket, workload);
            onMesh(tlsSocket, 'tcp', peer);
          }, (err: Error) => {
            this.countRefusal(`mTLS TCP hop: ${err.message}`, tlsSocket.remoteAddress ?? '');
            tlsSocket.destroy();
          });
          return;
        }
        const inner = typeof alpn === 'string' && isMeshletAlpn(alpn) ? INNER[alpn] : 'tcp';
        onMesh(tlsSocket, inner, peer);
      },
      onRefused: (reason, tlsSocket) => this.countRefusal(`mTLS handshake: ${reason}`, tlsSocket.remoteAddress ?? ''),
    });
    return this.#server.server;
  }

  #refuse(socket: net.Socket, reason: string): void {
    this.countRefusal(reason, socket.remoteAddress ?? '');
    socket.destroy();
  }

  close(): void {
    this.#server?.close();
    this.#server = null;
  }
}
