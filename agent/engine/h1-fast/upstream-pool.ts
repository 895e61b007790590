// The fast path's upstream pools (ADR 0017): per endpoint and expected identity (`poolKey`, as
// the general path, so a pod IP reused by another workload never inherits a verified
// connection), raw HTTP/1.1 connections opened through connect.ts (mesh mTLS with the peer's
// SPIFFE ID checked, ALPN meshlet/http1.1, plain TCP otherwise). Idle connections are a LIFO
// stack (the warmest first); each carries the time after which it is not handed out (the
// upstream's `Keep-Alive: timeout=` minus a margin, else the pool's keep-alive time), and a
// shared unref'd sweep closes those left idle past it; mesh mTLS hops keep theirs longer than
// app-facing ones (ADR 0020). With every connection busy, a request waits a moment
// (`reuseWaitMs`) for one to free before a new one opens for it, so a burst does not open
// connections that then expire idle (the sidecar pair's churn, issue 16). The general path's limits apply per
// endpoint: connections, queued requests, queue wait; counts go into UpstreamPools.stats()
// (the meshlet_proxy_upstream_* gauges) as a companion pool, evicted and closed with it.
import type { ConnectOptions, Endpoint } from '../connect.ts';
import { endpointKey } from '../../balance/endpoint-balancer.ts';
import { idempotent } from '../default-retry.ts';
import { keepAliveFor, poolKey, UpstreamQueueFullError, UpstreamQueueTimeoutError, type CompanionPool, type PoolOptions, type UpstreamPools } from '../pools.ts';
import { UpstreamClosedError, UpstreamConnection, type ConnectionHome } from './upstream-connection.ts';
import { Lease, type LeaseHome } from './upstream-lease.ts';
import type { FastRequest, FastUpstreamPool, UpstreamLease, UpstreamSink } from './upstream-types.ts';

/** Endpoints with a pool at most; beyond it the least recently created pool is closed. */
const MAX_POOLS = 4096;
const SWEEP_MS = 1_000;
/**
 * A request that cannot be resent (not idempotent) on a connection idle at least this long waits
 * one turn of the loop before it is written (ADR 0024): apps close idle connections after ≥ 1 s
 * (gunicorn 2 s, node:http 5 s), so a connection reused within this moment was not closing, and
 * steady traffic never pays the turn.
 */
export const SETTLE_IDLE_MS = 250;

/**
 * Whether an idle connection's socket can still carry a request: not destroyed, and the upstream's
 * FIN not read. Between the FIN's 'end' and the socket's 'close' a request written on it would
 * never reach the upstream (Node answers it with EPIPE), which the lease resends only when it
 * is replayable; undici and hyper check the same before reusing a connection.
 */
function usable(socket: { destroyed: boolean; readableEnded: boolean; writable: boolean }): boolean {
  return !socket.destroyed && !socket.readableEnded && socket.writable;
}

class EndpointPool implements ConnectionHome, LeaseHome {
  readonly endpoint: Endpoint;
  readonly key: string;
  readonly #owner: FastPool;
  readonly idle: UpstreamConnection[] = [];
  readonly waiting: Lease[] = [];
  /** Connections not yet closed (connecting, busy or idle). */
  readonly all = new Set<UpstreamConnection>();
  open = 0;
  closing = false;
  readonly keepAliveMs: number;
  /** Pending check for requests that waited `reuseWaitMs` for a busy connection. */
  #growTimer: NodeJS.Timeout | null = null;
  readonly #growCheck = this.#grow.bind(this);
  readonly #growFire = (): void => {
    this.#growTimer = null;
    // after this turn's reads: responses that arrived meanwhile free connections first
    setImmediate(this.#growCheck);
  };

  constructor(owner: FastPool, endpoint: Endpoint, key: string) {
    this.#owner = owner;
    this.endpoint = endpoint;
    this.key = key;
    this.keepAliveMs = keepAliveFor(endpoint, owner.opts);
  }

  get connect(): ConnectOptions {
    return this.#owner.opts.connect;
  }

  send(req: FastRequest, sink: UpstreamSink): Lease {
    const lease = new Lease(this, req, sink);
    const now = performance.now();
    let dropped = 0;
    for (let conn = this.idle.pop(); conn !== undefined; conn = this.idle.pop()) {
      this.#owner.idle--;
      if (conn.idleUntil > now && usable(conn.socket)) {
        if (now - conn.idleAt >= SETTLE_IDLE_MS && !idempotent(req.method)) this.#settleThenTake(lease, conn);
        else lease.take(conn);
        return lease;
      }
      // past the upstream's keep-alive time (it may be closing it right now), or closed by it
      // already: its FIN read, the close not yet run (ADR 0024)
      conn.destroy();
      dropped++; // still counted in `open` until its close event
    }
    const opts = this.#owner.opts;
    const room = this.open < opts.connectionsPerEndpoint;
    // nothing to wait for (no live connection, or no wait configured): open one now
    if (room && (this.open - dropped === 0 || opts.reuseWaitMs <= 0)) {
      lease.take(this.#open());
      return lease;
    }
    if (this.waiting.length >= opts.maxQueuedPerEndpoint) {
      // The queue bounds requests waiting for a connection there is no room for; with room, a
      // burst longer than the queue is served by opening connections, as without the wait,
      // never refused (a GC pause can release more than the queue holds in one turn).
      if (room) {
        lease.take(this.#open());
        return lease;
      }
      throw new UpstreamQueueFullError(endpointKey(this.endpoint), this.waiting.length);
    }
    this.waiting.push(lease);
    this.#owner.queued++;
    lease.queuedAt = now;
    if (room) this.#growTimer ??= setTimeout(this.#growFire, opts.reuseWaitMs).unref();
    if (opts.maxQueueWaitMs > 0) {
      lease.timer = setTimeout(() => {
        lease.timer = null;
        this.unqueue(lease);
        lease.fail(null, new UpstreamQueueTimeoutError(endpointKey(this.endpoint), opts.maxQueueWaitMs));
      }, opts.maxQueueWaitMs);
    }
    return lease;
  }

  /**
   * A request that cannot be resent, on a connection idle long enough that the app may be closing
   * it: one turn of the loop first, so a FIN or reset already received is read before the request
   * is written (undici waits this turn on every reuse; Go's and hyper's pools learn of the close on
   * their own). Its writes meanwhile are held by the lease, as while it connects.
   */
  #settleThenTake(lease: Lease, conn: UpstreamConnection): void {
    setImmediate(() => {
      const alive = usable(conn.socket);
      if (lease.settled) {
        if (alive) this.finished(conn, true); // back to the pool (or the next waiting request)
        else conn.destroy();
        return;
      }
      if (alive) {
        lease.take(conn);
        return;
      }
      conn.destroy();
      if (this.closing) lease.fail(null, new UpstreamClosedError(`the pool of ${endpointKey(this.endpoint)} was closed (the endpoint left the routing table, or shutdown)`));
      else lease.take(this.#open()); // its close frees the slot later: over the bound by one for a moment, as a resend
    });
  }

  /** Requests that waited `reuseWaitMs` and are still waiting get a new connection each. */
  #grow(): void {
    if (this.closing) return;
    const opts = this.#owner.opts;
    const due = performance.now() - opts.reuseWaitMs;
    const late = this.waiting.filter((l) => l.queuedAt <= due);
    for (const lease of late) {
      if (this.open >= opts.connectionsPerEndpoint) return; // full: they wait for a free one
      this.unqueue(lease);
      lease.take(this.#open());
    }
    // the next check when the oldest of those still waiting has waited the moment, not a whole
    // moment from now: no request waits more than the moment and one turn of the loop
    const oldest = this.waiting[0];
    if (oldest !== undefined && this.open < opts.connectionsPerEndpoint) {
      this.#growTimer ??= setTimeout(this.#growFire, Math.max(0, oldest.queuedAt + opts.reuseWaitMs - performance.now())).unref();
    }
  }

  #open(): UpstreamConnection {
    this.open++;
    this.#owner.open++;
    const conn = new UpstreamConnection(this);
    this.all.add(conn);
    return conn;
  }

  fresh(lease: Lease): void {
    // the slot of the connection that was lost is free (its close is counted later): a resend
    // may exceed the bound by that one connection for a moment, never more
    this.#owner.resent();
    lease.take(this.#open());
  }

  unqueue(lease: Lease): void {
    const i = this.waiting.indexOf(lease);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    this.#owner.queued--;
    lease.dequeued();
  }

  #next(): Lease | undefined {
    const lease = this.waiting.shift();
    if (lease !== undefined) {
      this.#owner.queued--;
      lease.dequeued();
    }
    return lease;
  }

  finished(conn: UpstreamConnection, reusable: boolean): void {
    if (!reusable) return; // its close frees the slot
    if (this.closing) {
      conn.destroy();
      return;
    }
    const next = this.#next();
    if (next !== undefined) next.take(conn);
    else {
      this.idle.push(conn);
      this.#owner.idle++;
    }
  }

  closed(conn: UpstreamConnection): void {
    this.open--;
    this.#owner.open--;
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) {
      this.idle.splice(i, 1);
      this.#owner.idle--;
    }
    if (this.closing) return;
    if (this.waiting.length > 0 && this.open < this.#owner.opts.connectionsPerEndpoint) this.#next()!.take(this.#open());
  }

  /** Closes idle connections past their time; true when this pool holds nothing any more. */
  sweep(now: number): boolean {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i]!;
      if (conn.idleUntil <= now) conn.destroy(); // closed() takes it off the stack
    }
    return this.open === 0 && this.waiting.length === 0;
  }

  /** No new requests; idle connections close now, busy ones after their exchange. */
  close(destroyBusy = false): void {
    this.closing = true;
    if (this.#growTimer !== null) clearTimeout(this.#growTimer);
    this.#growTimer = null;
    if (destroyBusy) {
      for (const conn of this.all) {
        if (conn.lease !== null) conn.lease.fail(conn, new UpstreamClosedError('the proxy is shutting down'));
        else conn.destroy();
      }
    }
    for (const conn of [...this.idle]) conn.destroy();
    for (const lease of [...this.waiting]) {
      this.unqueue(lease);
      lease.fail(null, new UpstreamClosedError(`the pool of ${endpointKey(this.endpoint)} was closed (the endpoint left the routing table, or shutdown)`));
    }
  }
}

export class FastPool implements FastUpstreamPool, CompanionPool {
  readonly opts: Readonly<PoolOptions>;
  readonly #upstream: UpstreamPools;
  readonly #pools = new Map<string, EndpointPool>();
  /**
   * The pool of an endpoint object the routing table (or a connection's direct destination)
   * hands every request: found without building its key string per request. A pool closed or
   * swept since is looked up by key again.
   */
  readonly #byEndpoint = new WeakMap<Endpoint, EndpointPool>();
  #sweeper: NodeJS.Timeout | null = null;
  /** Running totals over every endpoint (a scrape reads three numbers). */
  open = 0;
  idle = 0;
  queued = 0;

  /** A pool with the general path's limits, reporting into `pools`' stats and evicted with them. */
  constructor(pools: UpstreamPools) {
    this.opts = pools.options;
    this.#upstream = pools;
    pools.attach(this);
  }

  /** A lease is resent after the keep-alive race: counted with the general path's (ADR 0024). */
  resent(): void {
    this.#upstream.noteResend();
  }

  send(endpoint: Endpoint, req: FastRequest, sink: UpstreamSink): UpstreamLease {
    let pool = this.#byEndpoint.get(endpoint);
    if (pool === undefined || pool.closing) {
      const key = poolKey(endpoint);
      pool = this.#pools.get(key);
      if (pool === undefined) {
        pool = new EndpointPool(this, endpoint, key);
        this.#pools.set(key, pool);
        if (this.#pools.size > MAX_POOLS) this.#closePool(this.#pools.keys().next().value!);
        this.#sweeper ??= setInterval(this.#sweep.bind(this), SWEEP_MS).unref();
      }
      this.#byEndpoint.set(endpoint, pool);
    }
    return pool.send(req, sink);
  }

  #sweep(): void {
    const now = performance.now();
    for (const [key, pool] of this.#pools) {
      if (!pool.sweep(now)) continue;
      this.#pools.delete(key);
      pool.closing = true; // empty; an endpoint that still points at it gets a new one
    }
    if (this.#pools.size === 0 && this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }

  counts(): { active: number; idle: number; queued: number } {
    return { active: this.open - this.idle, idle: this.idle, queued: this.queued };
  }

  evict(keys: ReadonlySet<string>): void {
    for (const key of keys) this.#closePool(key);
  }

  #closePool(key: string, destroyBusy = false): void {
    const pool = this.#pools.get(key);
    if (pool === undefined) return;
    this.#pools.delete(key);
    pool.close(destroyBusy);
  }

  close(): void {
    for (const key of [...this.#pools.keys()]) this.#closePool(key, true);
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }
}
