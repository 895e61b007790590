// Per-endpoint connection pools. HTTP/1.1 goes through an undici Pool per endpoint: it honours
// the server's `Keep-Alive: timeout=` hint minus a safety margin and never reuses a socket the
// peer announced it would close, which is the keep-alive hygiene a proxy needs (a request sent
// on a socket the peer is closing fails without having been processed, and is not safely
// retriable for non-idempotent methods). HTTP/2 (gRPC, h2c backends) uses one multiplexed
// node:http2 session per endpoint, replaced when it closes or receives GOAWAY. Both connect
// through connect.ts. Pools of endpoints that leave the routing table are closed gracefully.
import http2 from 'node:http2';
import { Pool } from 'undici';
import { MeshletError } from '../../api/errors.ts';
import { endpointKey } from '../balance/endpoint-balancer.ts';
import { MESHLET_ALPN } from '../../api/identity.ts';
import { DEFAULT_CONNECT, openSocket, undiciConnector, type ConnectOptions, type Endpoint } from './connect.ts';

export interface PoolOptions {
  connect: ConnectOptions;
  /** Max concurrent HTTP/1.1 connections per endpoint. */
  connectionsPerEndpoint: number;
  /** Idle keep-alive time when the server gives no hint. */
  keepAliveMs: number;
  /**
   * HTTP/1.1 requests waiting for a free connection, per endpoint. Beyond it a request fails
   * at once (503): an upstream that accepts and never answers must not grow memory unbounded.
   */
  maxQueuedPerEndpoint: number;
}

/** The endpoint's HTTP/1.1 queue is full: 503 (and another endpoint may be tried). */
export class UpstreamQueueFullError extends MeshletError {
  constructor(key: string, queued: number) {
    super('E_UPSTREAM_QUEUE_FULL', `${queued} requests already queued for ${key}`);
  }
}

/**
 * Pools are per endpoint and expected identity: a pod IP reused by another workload must not
 * inherit connections verified for the previous one.
 */
export function poolKey(endpoint: Endpoint): string {
  const key = endpointKey(endpoint);
  return endpoint.identity ? `${key}|${endpoint.identity}` : key;
}

/** Per protocol; beyond it the oldest pools are closed (gracefully) as new ones open. */
const MAX_POOLS = 4096;

// 1024 connections per endpoint, Envoy's default circuit-breaker bound: a slow upload holds
// its connection while the body streams, and 256 slow uploaders must not empty the pool for
// everyone else (issue 15); the h2 stream limit (100) keeps one client connection below it.
export const DEFAULT_POOL: PoolOptions = { connect: DEFAULT_CONNECT, connectionsPerEndpoint: 1024, keepAliveMs: 4_000, maxQueuedPerEndpoint: 1024 };

export class UpstreamPools {
  readonly #h1 = new Map<string, Pool>();
  readonly #h2 = new Map<string, http2.ClientHttp2Session>();
  readonly #opts: PoolOptions;

  constructor(opts: Partial<PoolOptions> = {}) {
    this.#opts = { ...DEFAULT_POOL, ...opts };
  }

  /** How connections are opened (timeout, mTLS): tunnels and TCP use the same. */
  get connectOptions(): ConnectOptions {
    return this.#opts.connect;
  }

  /** The endpoint's pool, or UpstreamQueueFullError when its wait queue is at the bound. */
  h1Admit(endpoint: Endpoint): Pool {
    const pool = this.h1(endpoint);
    const queued = pool.stats.queued;
    if (queued >= this.#opts.maxQueuedPerEndpoint) throw new UpstreamQueueFullError(endpointKey(endpoint), queued);
    return pool;
  }

  h1(endpoint: Endpoint): Pool {
    const key = poolKey(endpoint);
    let pool = this.#h1.get(key);
    if (!pool) {
      pool = new Pool(`http://${endpointKey(endpoint)}`, {
        connections: this.#opts.connectionsPerEndpoint,
        pipelining: 1,
        keepAliveTimeout: this.#opts.keepAliveMs,
        keepAliveTimeoutThreshold: 1_000,
        // The proxy applies route timeouts itself; these only catch wedged peers.
        headersTimeout: 300_000,
        bodyTimeout: 300_000,
        connect: undiciConnector(endpoint, this.#opts.connect),
        allowH2: false,
      });
      this.#h1.set(key, pool);
      this.#cap();
    }
    return pool;
  }

  h2(endpoint: Endpoint): http2.ClientHttp2Session {
    const key = poolKey(endpoint);
    const existing = this.#h2.get(key);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(`http://${endpointKey(endpoint)}`, {
      createConnection: () => openSocket(endpoint, this.#opts.connect, MESHLET_ALPN.h2),
    });
    const forget = (): void => {
      if (this.#h2.get(key) === session) this.#h2.delete(key);
    };
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    // An idle session must not keep the process alive (drain, tests).
    session.unref();
    this.#h2.set(key, session);
    this.#cap();
    return session;
  }

  /**
   * Closes the pools of `keys` (endpoints that left the routing table) gracefully: requests in
   * flight finish, new ones get a fresh pool.
   */
  evict(keys: ReadonlySet<string>): void {
    for (const key of keys) this.#closeH1(key);
    for (const key of keys) this.#closeH2(key);
  }

  /** Bounds pools for destinations no table lists (passthrough, inbound app ports). */
  #cap(): void {
    for (const key of this.#h1.keys()) {
      if (this.#h1.size <= MAX_POOLS) break;
      this.#closeH1(key);
    }
    for (const key of this.#h2.keys()) {
      if (this.#h2.size <= MAX_POOLS) break;
      this.#closeH2(key);
    }
  }

  #closeH1(key: string): void {
    const pool = this.#h1.get(key);
    if (!pool) return;
    this.#h1.delete(key);
    pool.close().catch(() => undefined);
  }

  #closeH2(key: string): void {
    const session = this.#h2.get(key);
    if (!session) return;
    this.#h2.delete(key);
    session.close();
  }

  async close(): Promise<void> {
    const h1 = [...this.#h1.values()];
    const h2 = [...this.#h2.values()];
    this.#h1.clear();
    this.#h2.clear();
    for (const s of h2) s.close();
    await Promise.all(h1.map((p) => p.destroy().catch(() => undefined)));
  }
}
