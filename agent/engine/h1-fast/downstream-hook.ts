// How a listener composition (the sidecar's outbound and inbound sides, the ingress) turns the
// HTTP/1.1 fast path on, once downstream-switch.ts said so (this module is then imported):
// `http1Handler` builds the listener's `http1` hook, which serves each accepted HTTP/1.x connection with a
// FastConnection and one fast upstream pool per ProxyCore (its connections counted, evicted and
// closed with the core's pools). A composition can keep a connection on the general path
// (`take`), or refuse requests before routing (`admit`, inbound authorization).
import type net from 'node:net';
import type { Http1Connection, Http1Env, ListenerHandlers } from '../../listener/proxy-listener.ts';
import type { ProxyCore } from '../core.ts';
import type { HttpSite } from '../http-handler.ts';
import { FastConnection } from './connection.ts';
import type { Admission } from './engine-bridge.ts';
import { FastPool } from './upstream-pool.ts';
import type { FastUpstreamPool } from './upstream-types.ts';

const pools = new WeakMap<ProxyCore, FastUpstreamPool>();

/** The fast path's upstream pool of a core, made on first use. */
export function fastPool(core: ProxyCore): FastUpstreamPool {
  let pool = pools.get(core);
  if (pool === undefined) {
    pool = new FastPool(core.pools);
    pools.set(core, pool);
  }
  return pool;
}

export interface Http1HookOptions<C> {
  /** false keeps the connection on the general path (e.g. its destination is still being resolved). */
  take?: (ctx: C) => boolean;
  admit?: (ctx: C) => Admission | 'fallback' | null;
  /** Fields the site's decoration removes from every request (lower case): left out before it. */
  strip?: readonly string[];
  remoteAddress: (ctx: C) => string;
}

export function http1Handler<C>(core: ProxyCore, site: (ctx: C) => HttpSite, opts: Http1HookOptions<C>): NonNullable<ListenerHandlers<C>['http1']> {
  const admit = opts.admit;
  return (ctx: C, socket: net.Socket, env: Http1Env): Http1Connection | null => {
    if (opts.take && !opts.take(ctx)) return null;
    return new FastConnection(socket, {
      core, site: site(ctx), pool: fastPool(core), remoteAddress: opts.remoteAddress(ctx),
      admit: admit ? () => admit(ctx) : undefined, strip: opts.strip,
      fallback: env.fallback, adopted: env.adopted, draining: env.draining,
      headersTimeoutMs: env.headersTimeoutMs, keepAliveTimeoutMs: env.keepAliveTimeoutMs,
    });
  };
}
