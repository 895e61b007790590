// Per-endpoint connection pools. HTTP/1.1 goes through an undici Pool per endpoint: it honours
// the server's `Keep-Alive: timeout=` hint minus a safety margin and never reuses a socket the
// peer announced it would close, which is the keep-alive hygiene a proxy needs (a request sent
// on a socket the peer is closing fails without having been processed, and is not safely
// retriable for non-idempotent methods; a replayable one is resent once on a fresh connection,
// ADR 0024: its Clients report whether a request went out on a reused connection, and h1Fresh
// opens the fresh one). HTTP/2 (gRPC, h2c backends) uses one multiplexed
// node:http2 session per endpoint, replaced when it closes or receives GOAWAY. Both connect
// through connect.ts. Pools of endpoints that leave the routing table are closed gracefully.
import type http2 from 'node:http2';
import type { buildConnector, Dispatcher, Pool as UndiciPool } from 'undici';
import { MeshletError } from '../../api/errors.ts';
import { endpointKey } from '../balance/endpoint-balancer.ts';
import { MESHLET_ALPN } from '../../api/identity.ts';
import { DEFAULT_CONNECT, isMutualTls, openSocket, undiciConnector, type ConnectOptions, type Endpoint } from './connect.ts';
import { trackingFactory } from './reused-connection.ts';
import { undiciClient, undiciPool } from './undici-pool.ts';

export interface PoolOptions {
  connect: ConnectOptions;
  /** Max concurrent HTTP/1.1 connections per endpoint. */
  connectionsPerEndpoint: number;
  /** Idle keep-alive time when the server gives no hint (app-facing and unmeshed hops). */
  keepAliveMs: number;
  /**
   * Idle keep-alive time on a mesh mTLS hop (ADR 0020): the peer is a meshlet inbound, whose
   * idle timeout (DEFAULT_KEEPALIVE_MS, 300 s) is known, so connections opened in a burst are
   * kept to serve the next one instead of expiring after the app-facing time.
   */
  meshKeepAliveMs: number;
  /**
   * HTTP/1.1 fast path: with every connection of an endpoint busy, how long a request waits for
   * one to free before a new connection opens (ADR 0020). A burst is served by the connections
   * there are when they free within this moment; only requests still waiting after it open
   * new ones. 0: open at once.
   */
  reuseWaitMs: number;
  /**
   * HTTP/1.1 requests waiting for a free connection, per endpoint. Beyond it a request fails
   * at once (503): an upstream that accepts and never answers must not grow memory unbounded.
   */
  maxQueuedPerEndpoint: number;
  /**
   * How long a request may wait for a free connection (issue 15): a backend that holds every
   * connection must not leave the requests queued behind them waiting for good (undici only
   * lets a queued request go once a connection takes it, whatever its signal says). 0: no bound.
   */
  maxQueueWaitMs: number;
}

/** The endpoint's HTTP/1.1 queue is full: 503 (and another endpoint may be tried). */
export class UpstreamQueueFullError extends MeshletError {
  constructor(key: string, queued: number) {
    super('E_UPSTREAM_QUEUE_FULL', `${queued} requests already queued for ${key}`);
  }
}

/** A request waited longer than maxQueueWaitMs for a connection: 503 (another endpoint may be tried). */
export class UpstreamQueueTimeoutError extends MeshletError {
  constructor(key: string, ms: number) {
    super('E_UPSTREAM_QUEUE_TIMEOUT', `no connection to ${key} free within ${ms} ms`);
  }
}

/**
 * A request admitted to an endpoint's HTTP/1.1 pool. `waitMs` is set when every connection was
 * busy at admission, so the request queues (and must be taken within that time, 0: no bound,
 * but it still leaves as soon as its attempt is aborted); `done` gives
 * the slot back once undici has finished with the request (its promise failed, or the response
 * body closed).
 */
export interface H1Admission {
  pool: Dispatcher;
  key: string;
  waitMs: number | null;
  done: () => void;
}

interface H1Entry {
  /** The pool, composed with the interceptor that reports when a queued request starts. */
  dispatcher: Dispatcher;
  pool: UndiciPool;
  /** Requests admitted and not yet done: beyond the connection count, they are queued. */
  busy: number;
}

/** Option name a request carries to learn when undici takes it from the queue (onStarted). */
const ON_STARTED = Symbol('meshlet.onStarted');
export type StartAwareOptions = Dispatcher.RequestOptions & { [ON_STARTED]?: () => void };

/** Calls the request's ON_STARTED callback when undici writes it to a connection. */
function startHook(dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch {
  return (opts, handler) => {
    const onStarted = (opts as StartAwareOptions)[ON_STARTED];
    if (onStarted) {
      const original = handler.onRequestStart?.bind(handler);
      handler.onRequestStart = (...args) => {
        onStarted();
        original?.(...args);
      };
    }
    return dispatch(opts, handler);
  };
}

/** Options for a request that must know when it leaves the queue. */
export function onStarted(opts: Dispatcher.RequestOptions, callback: () => void): StartAwareOptions {
  return { ...opts, [ON_STARTED]: callback };
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
// A queued request waits at most 3 s for a connection (Linkerd's outbound fail-fast timeout):
// with every connection held that long, the endpoint is saturated and another one, or a 503
// the client can retry, is better than waiting on.
// Mesh hops keep idle connections 120 s (ADR 0020): well under the meshlet inbound's 300 s, so
// this side always retires first (no keep-alive race between sidecars); Envoy/Istio keep upstream
// connections 1 h by default. App-facing ones keep the conservative 4 s (Node servers close at 5 s).
/** The idle keep-alive time of a hop to `endpoint` without a server hint: mesh mTLS hops keep longer (ADR 0020). */
export function keepAliveFor(endpoint: Endpoint, opts: PoolOptions): number {
  return isMutualTls(endpoint, opts.connect) ? opts.meshKeepAliveMs : opts.keepAliveMs;
}

export const DEFAULT_POOL: PoolOptions = { connect: DEFAULT_CONNECT, connectionsPerEndpoint: 1024, keepAliveMs: 4_000, meshKeepAliveMs: 120_000, reuseWaitMs: 2, maxQueuedPerEndpoint: 1024, maxQueueWaitMs: 3_000 };

/**
 * Upstream connection pool state for /metrics, kept as running totals (a scrape reads four
 * numbers instead of walking every pool and connection, which undici's pool.stats does).
 */
export interface PoolStats {
  /** HTTP/1.1 connections carrying a request (pipelining is 1: one request each). */
  active: number;
  /** Open HTTP/1.1 connections waiting for a request (kept alive). */
  idle: number;
  /** HTTP/1.1 requests waiting for a free connection, over all endpoints. */
  queued: number;
  /** Open HTTP/2 sessions (each multiplexes that endpoint's requests). */
  h2Sessions: number;
}

/**
 * Another HTTP/1.1 pool kept beside these (the fast path's raw connections, ADR 0017): its
 * connections count in stats() (so the meshlet_proxy_upstream_* gauges cover both paths), and
 * it is evicted and closed with these.
 */
export interface CompanionPool {
  counts(): { active: number; idle: number; queued: number };
  evict(keys: ReadonlySet<string>): void;
  close(): void;
}

export class UpstreamPools {
  readonly #h1 = new Map<string, H1Entry>();
  readonly #companions: CompanionPool[] = [];
  readonly #h2 = new Map<string, http2.ClientHttp2Session>();
  readonly #opts: PoolOptions;
  /** HTTP/1.1 sockets open (pools closed by eviction included until their sockets close). */
  #open = 0;
  /** Requests admitted and not done, and of them those beyond their pool's connection count. */
  #busy = 0;
  #queued = 0;
  /** Requests resent on a fresh connection after the keep-alive race, both paths (ADR 0024). */
  #resends = 0;
  /** The general path's resend connections in use (h1Fresh), destroyed with the pools. */
  readonly #fresh = new Set<Dispatcher & { destroy(): Promise<void> }>();

  constructor(opts: Partial<PoolOptions> = {}) {
    this.#opts = { ...DEFAULT_POOL, ...opts };
  }

  /** How connections are opened (timeout, mTLS): tunnels and TCP use the same. */
  get connectOptions(): ConnectOptions {
    return this.#opts.connect;
  }

  /** The limits a companion pool applies per endpoint too. */
  get options(): Readonly<PoolOptions> {
    return this.#opts;
  }

  attach(companion: CompanionPool): void {
    this.#companions.push(companion);
  }

  /**
   * Admits a request to the endpoint's pool, or throws UpstreamQueueFullError when its wait
   * queue is at the bound. Counted here rather than read from pool.stats, which walks every
   * connection of the pool on each read.
   */
  h1Admit(endpoint: Endpoint): H1Admission {
    const entry = this.#h1Entry(endpoint);
    const queued = entry.busy - this.#opts.connectionsPerEndpoint;
    if (queued >= this.#opts.maxQueuedPerEndpoint) throw new UpstreamQueueFullError(endpointKey(endpoint), queued);
    entry.busy++;
    this.#busy++;
    if (queued >= 0) this.#queued++;
    let released = false;
    return {
      pool: entry.dispatcher,
      key: endpointKey(endpoint),
      waitMs: queued >= 0 ? this.#opts.maxQueueWaitMs : null,
      done: () => {
        if (released) return;
        released = true;
        // The pool's queue shrinks by one whenever it had one, whichever request leaves.
        if (entry.busy > this.#opts.connectionsPerEndpoint) this.#queued--;
        entry.busy--;
        this.#busy--;
      },
    };
  }

  #h1Entry(endpoint: Endpoint): H1Entry {
    const key = poolKey(endpoint);
    let entry = this.#h1.get(key);
    if (!entry) {
      const Pool = undiciPool(); // loaded with the first pool (ADR 0012)
      const pool = new Pool(`http://${endpointKey(endpoint)}`, {
        ...this.#clientOptions(endpoint),
        connections: this.#opts.connectionsPerEndpoint,
        // its Clients say whether a request went out on a reused connection (ADR 0024)
        factory: trackingFactory(undiciClient()),
      });
      entry = { pool, dispatcher: pool.compose(startHook), busy: 0 };
      this.#h1.set(key, entry);
      this.#cap();
    }
    return entry;
  }

  /** What each HTTP/1.1 connection to `endpoint` is opened and kept with. */
  #clientOptions(endpoint: Endpoint) {
    return {
      pipelining: 1,
      keepAliveTimeout: keepAliveFor(endpoint, this.#opts),
      keepAliveTimeoutThreshold: 1_000,
      // The proxy applies route timeouts itself; these only catch wedged peers.
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
      connect: this.#counted(undiciConnector(endpoint, this.#opts.connect)),
      allowH2: false,
    };
  }

  /**
   * A fresh connection to `endpoint` for one request, outside its pool and its queue: the resend
   * of a request that met the keep-alive race (ADR 0024), which must not take another idle
   * connection (it could be closing too). Counted like an admission; closed once done. Like the
   * fast path's resend, it may exceed the connection bound by one for a moment.
   */
  h1Fresh(endpoint: Endpoint): H1Admission {
    const Client = undiciClient();
    const client = new Client(`http://${endpointKey(endpoint)}`, this.#clientOptions(endpoint));
    this.#fresh.add(client);
    this.#resends++;
    this.#busy++;
    let released = false;
    return {
      pool: client,
      key: endpointKey(endpoint),
      waitMs: null,
      done: () => {
        if (released) return;
        released = true;
        this.#busy--;
        this.#fresh.delete(client);
        client.close().catch(() => undefined);
      },
    };
  }

  /** A request met the keep-alive race on the fast path and is resent (ADR 0024). */
  noteResend(): void {
    this.#resends++;
  }

  /** Requests resent on a fresh connection after the keep-alive race, both paths (meshlet_proxy_upstream_resends_total). */
  get resends(): number {
    return this.#resends;
  }

  /** Counts the sockets a pool opens until they close, for stats(). */
  #counted(connector: buildConnector.connector): buildConnector.connector {
    return (options, callback) => connector(options, (...args) => {
      const socket = args[1];
      if (socket) {
        this.#open++;
        socket.once('close', () => this.#open--);
      }
      callback(...args);
    });
  }

  stats(): PoolStats {
    // A request is admitted before its connection is made: while connecting it is counted
    // active and that connection not yet open, hence the floor at 0.
    const active = Math.min(this.#busy - this.#queued, this.#open);
    const stats = { active, idle: Math.max(0, this.#open - active), queued: this.#queued, h2Sessions: this.#h2.size };
    for (const c of this.#companions) {
      const n = c.counts();
      stats.active += n.active;
      stats.idle += n.idle;
      stats.queued += n.queued;
    }
    return stats;
  }

  h2(endpoint: Endpoint): http2.ClientHttp2Session {
    const key = poolKey(endpoint);
    const existing = this.#h2.get(key);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    // node:http2 (~4 MB RSS) is loaded with the first HTTP/2 upstream session (ADR 0012).
    const session = process.getBuiltinModule('node:http2').connect(`http://${endpointKey(endpoint)}`, {
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
    for (const c of this.#companions) c.evict(keys);
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
    const entry = this.#h1.get(key);
    if (!entry) return;
    this.#h1.delete(key);
    entry.pool.close().catch(() => undefined);
  }

  #closeH2(key: string): void {
    const session = this.#h2.get(key);
    if (!session) return;
    this.#h2.delete(key);
    session.close();
  }

  async close(): Promise<void> {
    const h1 = [...this.#h1.values()].map((e) => e.pool);
    const h2 = [...this.#h2.values()];
    this.#h1.clear();
    this.#h2.clear();
    for (const s of h2) s.close();
    for (const c of this.#companions) c.close();
    const fresh = [...this.#fresh];
    this.#fresh.clear();
    await Promise.all([...h1, ...fresh].map((p) => p.destroy().catch(() => undefined)));
  }
}
