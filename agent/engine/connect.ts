// Connection setup to upstreams, in ONE place. Every byte the agent sends to an endpoint
// (pooled HTTP/1.1 via undici, HTTP/2 sessions, WebSocket tunnels, opaque TCP, mirrors) goes
// through a socket opened here, so mutual TLS between meshlet hops is added by changing this
// file only: wrap the socket in tls.connect() with the workload certificate and verify the
// peer's SPIFFE identity (Endpoint.identity).
import net from 'node:net';
import type { buildConnector } from 'undici';
import { MeshletError } from '../../api/errors.ts';

export interface Endpoint {
  address: string;
  port: number;
  /** SPIFFE ID expected of the peer (mTLS, not yet enforced). */
  identity?: string | null;
}

export interface ConnectOptions {
  timeoutMs: number;
}

export const DEFAULT_CONNECT: ConnectOptions = { timeoutMs: 5_000 };

/** Upstream connection could not be established (refused, unreachable, timed out): 503. */
export class UpstreamConnectError extends MeshletError {
  constructor(endpoint: Endpoint, cause: unknown) {
    super('E_UPSTREAM_CONNECT', `connect to ${endpoint.address}:${endpoint.port} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Opens a socket (still connecting) with TCP_NODELAY and a connect timeout. */
export function openSocket(endpoint: Endpoint, opts: ConnectOptions = DEFAULT_CONNECT): net.Socket {
  const socket = net.connect({ host: endpoint.address, port: endpoint.port, noDelay: true });
  if (opts.timeoutMs > 0) {
    socket.setTimeout(opts.timeoutMs, () => {
      socket.destroy(new Error(`connect timeout after ${opts.timeoutMs} ms`));
    });
    socket.once('connect', () => socket.setTimeout(0));
  }
  return socket;
}

/** Resolves once connected; rejects with UpstreamConnectError. */
export function connectSocket(endpoint: Endpoint, opts: ConnectOptions = DEFAULT_CONNECT): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = openSocket(endpoint, opts);
    const onError = (err: Error): void => {
      reject(new UpstreamConnectError(endpoint, err));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** undici's connector hook, so its pools also connect through here. */
export function undiciConnector(endpoint: Endpoint, opts: ConnectOptions = DEFAULT_CONNECT): buildConnector.connector {
  return (_options, callback) => {
    const socket = openSocket(endpoint, opts);
    let done = false;
    socket.once('connect', () => {
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
