// Connection setup to upstreams, in ONE place. Every byte the agent sends to an endpoint
// (pooled HTTP/1.1 via undici, HTTP/2 sessions, WebSocket tunnels, opaque TCP, mirrors) goes
// through a socket opened here. A meshed endpoint (one whose routing-table entry carries the
// SPIFFE ID of its workload) gets mutual TLS when this proxy has a workload certificate: TLS
// 1.3, our certificate, ALPN naming the protocol inside (meshlet/h2, meshlet/http1.1,
// meshlet/tcp), and the peer's URI SAN required to equal that ID, else the connection fails
// (503 with the reason). Endpoints outside the mesh get plain TCP.
import net from 'node:net';
import tls from 'node:tls';
import type { buildConnector } from 'undici';
import { MeshletError } from '../../api/errors.ts';
import { MESHLET_ALPN, type MeshletAlpn } from '../../api/identity.ts';
import { PeerIdentityMismatchError } from '../identity/errors.ts';
import { meshTlsCounts } from '../identity/mesh-tls-counts.ts';
import { spiffeIdOf } from '../identity/peer-identity.ts';
import { outboundTlsOptions, type SecureContextCache } from '../identity/tls-options.ts';

export interface Endpoint {
  address: string;
  port: number;
  /** SPIFFE ID of the workload behind the endpoint: set for meshed endpoints (mTLS). */
  identity?: string | null;
  /** The pod behind the endpoint, when the routing table names it (metrics only). */
  podName?: string | null;
}

export interface ConnectOptions {
  timeoutMs: number;
  /** This proxy's workload certificate; without it every endpoint gets plain TCP. */
  mtls?: SecureContextCache | null;
}

/** Whether a connection to `endpoint` is mutual TLS under these options. */
export function isMutualTls(endpoint: Endpoint, opts: ConnectOptions): boolean {
  return Boolean(endpoint.identity && opts.mtls);
}

export const DEFAULT_CONNECT: ConnectOptions = { timeoutMs: 5_000 };

/**
 * Sockets opened to upstreams since start, by transport (meshlet_proxy_upstream_connections_opened_total):
 * a pool that reconnects under steady load shows here, not in the open-connection gauges (issue 16).
 */
export const upstreamSocketsOpened = { plaintext: 0, mtls: 0 };

/** Upstream connection could not be established (refused, unreachable, timed out): 503. */
export class UpstreamConnectError extends MeshletError {
  constructor(endpoint: Endpoint, cause: unknown) {
    super('E_UPSTREAM_CONNECT', `connect to ${endpoint.address}:${endpoint.port} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * Emitted by a mesh mTLS socket from openSocket() once the peer's SPIFFE ID was checked on this
 * very connection: node:tls skips checkServerIdentity when a session is resumed, so the check is
 * ours for those (ADR 0020), and nothing may be written before it.
 */
export const MESH_VERIFIED = 'meshlet:verified';

/** The event after which a socket from openSocket() may carry data. */
export function readyEvent(socket: net.Socket): typeof MESH_VERIFIED | 'secureConnect' | 'connect' {
  return socket instanceof tls.TLSSocket ? MESH_VERIFIED : 'connect';
}

/** Tickets are kept per endpoint and expected identity: never offered to another workload's address. */
function ticketKey(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}|${endpoint.identity}`;
}

/**
 * Opens a socket (still connecting) with TCP_NODELAY and a connect timeout covering the TLS
 * handshake too. `alpn` names what will travel inside when the connection is mutual TLS;
 * `prefer`, an ALPN offered ahead of it that the peer may select instead (newer hop variants;
 * the caller reads `alpnProtocol` to see which one it got). `onread`: a plaintext socket reads
 * into the caller's reused buffer instead of a fresh one per read (the HTTP/1.1 fast path, ADR
 * 0017); ignored under mTLS, where TLS hands over decrypted data itself.
 */
export function openSocket(endpoint: Endpoint, opts: ConnectOptions = DEFAULT_CONNECT, alpn: MeshletAlpn = MESHLET_ALPN.tcp, prefer: string | null = null, onread: net.OnReadOpts | null = null): net.Socket {
  let socket: net.Socket;
  if (isMutualTls(endpoint, opts)) {
    let options: tls.ConnectionOptions;
    try {
      options = outboundTlsOptions(opts.mtls!, { expectedSpiffeId: endpoint.identity!, alpn });
      if (prefer) options = { ...options, ALPNProtocols: [prefer, alpn] };
    } catch (err) {
      // No workload certificate yet: fail this connection, never fall back to plaintext.
      socket = new net.Socket();
      process.nextTick(() => socket.destroy(err as Error));
      return socket;
    }
    // TLS over a TCP socket we open ourselves, so TCP_NODELAY applies as on plaintext hops.
    const tcp = net.connect({ host: endpoint.address, port: endpoint.port, noDelay: true });
    const cache = opts.mtls!;
    const key = ticketKey(endpoint);
    // TLS 1.3 resumption with a ticket this peer gave us: no certificate signature or chain
    // verification on either side (~1.8 ms of the inbound's CPU per connection, ADR 0008)
    const session = cache.takeTicket(key);
    const tlsSocket = tls.connect(session === undefined ? { ...options, socket: tcp } : { ...options, socket: tcp, session });
    socket = tlsSocket;
    upstreamSocketsOpened.mtls++;
    // tls.connect over a given socket does not forward its errors before the handshake starts.
    tcp.once('error', (err) => tlsSocket.destroy(err));
    const context = options.secureContext!;
    tlsSocket.on('session', (ticket: Buffer) => cache.keepTicket(key, ticket, context));
    tlsSocket.once('secureConnect', () => {
      // A full handshake was checked by checkServerIdentity. A resumed one shows no certificate
      // at all (node:tls neither re-runs the check nor exposes the peer's certificate): its peer
      // is the one that could decrypt a ticket kept under this endpoint and identity, i.e. the
      // server verified as that identity when the ticket was issued (ADR 0020 on why that holds).
      if (tlsSocket.isSessionReused()) {
        meshTlsCounts.clientResumed++;
        tlsSocket.emit(MESH_VERIFIED);
      } else {
        const presented = spiffeIdOf({ subjectaltname: tlsSocket.getPeerX509Certificate()?.subjectAltName });
        if (presented !== endpoint.identity) {
          tlsSocket.destroy(new PeerIdentityMismatchError(endpoint.identity!, presented));
          return;
        }
        meshTlsCounts.clientFull++;
        tlsSocket.emit(MESH_VERIFIED);
      }
    });
  } else {
    socket = net.connect(onread ? { host: endpoint.address, port: endpoint.port, noDelay: true, onread } : { host: endpoint.address, port: endpoint.port, noDelay: true });
    upstreamSocketsOpened.plaintext++;
  }
  if (opts.timeoutMs > 0) {
    socket.setTimeout(opts.timeoutMs, () => {
      socket.destroy(new Error(`connect timeout after ${opts.timeoutMs} ms`));
    });
    socket.once(readyEvent(socket), () => socket.setTimeout(0));
  }
  return socket;
}

/** Resolves once connected (and, for mTLS, the peer verified); rejects with UpstreamConnectError. */
export function connectSocket(endpoint: Endpoint, opts: ConnectOptions = DEFAULT_CONNECT, alpn: MeshletAlpn = MESHLET_ALPN.tcp, prefer: string | null = null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = openSocket(endpoint, opts, alpn, prefer);
    const onError = (err: Error): void => {
      reject(new UpstreamConnectError(endpoint, err));
    };
    socket.once('error', onError);
    socket.once(readyEvent(socket), () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** undici's connector hook, so its pools also connect through here (HTTP/1.1 inside mTLS). */
export function undiciConnector(endpoint: Endpoint, opts: ConnectOptions = DEFAULT_CONNECT): buildConnector.connector {
  return (_options, callback) => {
    const socket = openSocket(endpoint, opts, MESHLET_ALPN.http1);
    let done = false;
    socket.once(readyEvent(socket), () => {
      if (done) return;
      done = true;
      callback(null, socket);
    });
    socket.once('error', (err) => {
      if (done) return;
      done = true;
      callback(new UpstreamConnectError(endpoint, err), null);
    });
  };
}
