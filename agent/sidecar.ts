// The sidecar: outbound (15001) + inbound (15006) + admin (15020) over one ProxyCore. Outbound
// takes each connection's target from its original destination (SO_ORIGINAL_DST, injected as
// `originalDestination` so tests and `meshlet dev` need no iptables) and routes on that
// ClusterIP:port with the pod's namespace for consumer routes. In explicit mode the outbound
// listener also serves requests addressed to itself: by Service name or ClusterIP in the Host
// header, or as an HTTP proxy (absolute-form). Inbound forwards to the app on the original port.
import type http from 'node:http';
import type net from 'node:net';
import { PORTS } from '../api/names.ts';
import type { RoutingTable } from '../api/routing-table.ts';
import { startAdminServer, type AdminServer } from './admin/admin-server.ts';
import { drainListeners } from './drain.ts';
import type { DetectedProtocol } from './listener/detect.ts';
import { ProxyListener } from './listener/proxy-listener.ts';
import { ProxyCore, type CoreOptions } from './outbound/core.ts';
import { resolveExplicit } from './outbound/explicit-target.ts';
import { serveHttp, sitePerConnection } from './outbound/http-handler.ts';
import type { Destination } from './outbound/plan.ts';
import { spliceTcp } from './outbound/tcp-proxy.ts';
import { handleUpgrade } from './outbound/upgrade.ts';
import { serviceKey } from './route/compile.ts';
import type { TableSource } from './table-source.ts';

export interface OriginalDst {
  address: string;
  port: number;
}

export interface SidecarOptions extends CoreOptions {
  /** The pod's namespace: selects consumer routes. */
  namespace: string;
  source: TableSource;
  /** Bind address of the three listeners (default 0.0.0.0). */
  host?: string;
  /** 0 picks a free port (tests). */
  ports?: { outbound?: number; inbound?: number; admin?: number };
  /** Where an accepted connection was originally going; null when it was addressed to us. */
  originalDestination?: (socket: net.Socket) => OriginalDst | null;
  /** Serve explicitly addressed outbound requests (Host / absolute-form). */
  explicit?: boolean;
  /**
   * Where inbound traffic is delivered to the app. Default: the connection's original
   * destination address (the pod IP), so services the app bound to 127.0.0.1 only are never
   * exposed through the sidecar (the reason Istio 1.10 stopped forwarding to localhost).
   */
  inboundAppAddress?: string;
  detectTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * Controller mode (on-demand subscription): awaited before routing an outbound connection
   * whose original destination is not in the table, so the first call to a Service waits for
   * its routes; it must settle quickly (bounded by the caller) and never reject.
   */
  onUnknownDestination?: (address: string, port: number) => Promise<void>;
}

export interface RunningProxy {
  ports: Record<string, number>;
  core: ProxyCore;
  /** Stop accepting, wait for in-flight work up to the deadline; true if all finished. */
  drain(deadlineMs: number): Promise<boolean>;
  close(): Promise<void>;
}

interface ConnCtx {
  original: OriginalDst | null;
  remoteAddress: string;
  /** On-demand subscription in flight for this connection's destination (see whenKnown). */
  asking?: Promise<void> | null;
}

// A Service port's appProtocol says what the client speaks, so detection (and its wait on
// server-first protocols) is skipped. Unknown values fall back to detection.
const APP_PROTOCOL_HINTS: Record<string, DetectedProtocol> = {
  'http': 'http1', 'kubernetes.io/ws': 'http1', 'grpc-web': 'http1',
  'kubernetes.io/h2c': 'h2c', 'grpc': 'h2c', 'h2c': 'h2c', 'http2': 'h2c',
  'https': 'tls', 'kubernetes.io/wss': 'tls', 'tls': 'tls',
  // Server-first or binary protocols: straight to opaque TCP, no detection delay.
  'tcp': 'tcp', 'mysql': 'tcp', 'postgres': 'tcp', 'postgresql': 'tcp', 'redis': 'tcp', 'mongo': 'tcp',
  'mongodb': 'tcp', 'kafka': 'tcp', 'amqp': 'tcp', 'smtp': 'tcp', 'nats': 'tcp',
};

function sameAsListener(od: OriginalDst, socket: net.Socket): boolean {
  return od.port === socket.localPort && (od.address === socket.localAddress || `::ffff:${od.address}` === socket.localAddress);
}

/**
 * Explicit mode makes the outbound listener a proxy for whoever can reach it; only the pod's
 * own processes (loopback) may use it, or a peer dialling podIP:15001 would get an open proxy
 * into the pod's network (SSRF to metadata services, the kubelet, the pod's localhost).
 */
export function isLoopbackPeer(address: string): boolean {
  return /^(?:::ffff:)?127\./.test(address) || address === '::1';
}

export async function startSidecar(opts: SidecarOptions): Promise<RunningProxy> {
  const core = new ProxyCore(opts);
  const unsubscribe = core.holder.follow(opts.source);
  const host = opts.host ?? '0.0.0.0';
  const findOriginal = (socket: net.Socket): OriginalDst | null => {
    try {
      const od = opts.originalDestination?.(socket) ?? null;
      return od && !sameAsListener(od, socket) ? od : null;
    } catch {
      return null;
    }
  };
  const table = (): RoutingTable | null => core.holder.current?.table ?? null;
  // `Host: 127.0.0.1:15001` in explicit mode would make the sidecar call itself forever.
  const ownPorts = new Set<number>();
  const isSelf = (address: string, port: number): boolean => ownPorts.has(port)
    && (address === host || host === '0.0.0.0' || host === '::' || address.startsWith('127.') || address === '::1' || address === 'localhost');
  const servicePort = (od: OriginalDst) => core.holder.current?.compiled.services.get(serviceKey(od.address, od.port)) ?? null;
  const common = {
    host,
    detectTimeoutMs: opts.detectTimeoutMs,
    headersTimeoutMs: opts.headersTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    log: core.log,
    context: (socket: net.Socket): ConnCtx => ({ original: findOriginal(socket), remoteAddress: socket.remoteAddress ?? '' }),
  };

  const outboundDestination = (ctx: ConnCtx, authority: string): Destination => {
    if (ctx.original) return { kind: 'route', target: { kind: 'mesh', ...ctx.original, clientNamespace: opts.namespace } };
    const t = table();
    if (!opts.explicit) return { kind: 'reject', status: 400, reason: 'connection was not redirected to the sidecar (explicit mode is off)' };
    if (!isLoopbackPeer(ctx.remoteAddress)) return { kind: 'reject', status: 403, reason: 'explicit mode serves only clients on this host' };
    if (!t) return { kind: 'reject', status: 503, reason: 'no routing table yet' };
    const r = resolveExplicit(t, authority, opts.namespace);
    if (r.kind === 'unknown') return { kind: 'reject', status: 404, reason: r.reason };
    if (isSelf(r.address, r.port)) return { kind: 'reject', status: 400, reason: 'request addressed to the sidecar itself' };
    if (!servicePort(r)) return { kind: 'reject', status: 404, reason: `${r.address}:${r.port} is not a mesh Service port` };
    return { kind: 'route', target: { kind: 'mesh', address: r.address, port: r.port, clientNamespace: opts.namespace } };
  };
  const outboundSite = sitePerConnection((ctx: ConnCtx) => ({
    scheme: 'http',
    destination: (_req, desc) => outboundDestination(ctx, desc.authority),
  }));
  // CONNECT host:port (explicit mode): the tunnel becomes a connection whose original
  // destination is that Service's ClusterIP:port, then goes through detection like any other.
  const onConnect = (ctx: ConnCtx, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => {
    const t = table();
    const refuse = (status: string): void => void socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    if (ctx.original || !opts.explicit) return refuse('405 Method Not Allowed');
    if (!isLoopbackPeer(ctx.remoteAddress)) return refuse('403 Forbidden');
    if (!t) return refuse('503 Service Unavailable');
    const r = resolveExplicit(t, req.url ?? '', opts.namespace);
    if (r.kind === 'unknown' || !servicePort(r)) return refuse('404 Not Found');
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    outbound.adopt(socket, { original: { address: r.address, port: r.port }, remoteAddress: ctx.remoteAddress });
  };
  // On-demand subscription: asked at accept time (overlapping protocol detection); the
  // connection's first handler waits for the answer, later ones run at once.
  const outboundContext = (socket: net.Socket): ConnCtx => {
    const ctx = common.context(socket);
    const ask = opts.onUnknownDestination;
    if (ask && ctx.original && !servicePort(ctx.original)) ctx.asking = ask(ctx.original.address, ctx.original.port).catch(() => undefined);
    return ctx;
  };
  const whenKnown = (ctx: ConnCtx, run: () => void): void => {
    if (!ctx.asking) return run();
    void ctx.asking.then(() => {
      ctx.asking = null;
      run();
    });
  };
  const outbound: ProxyListener<ConnCtx> = await ProxyListener.listen<ConnCtx>({
    ...common,
    port: opts.ports?.outbound ?? PORTS.outbound,
    handlers: {
      context: outboundContext,
      protocolHint: (ctx) => {
        const app = ctx.original ? servicePort(ctx.original)?.port.appProtocol : null;
        return app ? (APP_PROTOCOL_HINTS[app.toLowerCase()] ?? null) : null;
      },
      request: (ctx, req, res) => whenKnown(ctx, () => serveHttp(core, outboundSite(ctx), req, res)),
      upgrade: (ctx, req, socket, head) => whenKnown(ctx, () => {
        handleUpgrade(core, outboundSite(ctx), req, socket, head).catch(() => socket.destroy());
      }),
      connect: onConnect,
      tcp: (ctx, socket) => whenKnown(ctx, () => outboundTcp(ctx, socket)),
    },
  });

  function outboundTcp(ctx: ConnCtx, socket: net.Socket): void {
    if (!ctx.original) {
      socket.destroy();
      return;
    }
    // A known Service port: balance over its endpoints; otherwise straight through.
    const svc = servicePort(ctx.original);
    const backend = svc ? core.backends(table()!).get(svc.port.defaultBackend) : undefined;
    const ep = backend ? core.balancer.pick(backend) : null;
    if (backend && !ep) {
      socket.destroy();
      return;
    }
    void spliceTcp(socket, ep ?? ctx.original, core.inflight, core.log);
  }

  const appAddress = (od: OriginalDst): string => opts.inboundAppAddress ?? od.address;
  const inboundDestination = (ctx: ConnCtx): Destination => ctx.original
    ? { kind: 'direct', endpoint: { address: appAddress(ctx.original), port: ctx.original.port }, reason: 'inbound' }
    : { kind: 'reject', status: 400, reason: 'inbound connection without an original destination' };
  const inboundSite = sitePerConnection((ctx: ConnCtx) => ({ scheme: 'http', destination: () => inboundDestination(ctx) }));
  const inbound = await ProxyListener.listen<ConnCtx>({
    ...common,
    port: opts.ports?.inbound ?? PORTS.inbound,
    handlers: {
      context: common.context,
      request: (ctx, req, res) => serveHttp(core, inboundSite(ctx), req, res),
      upgrade: (ctx, req, socket, head) => {
        handleUpgrade(core, inboundSite(ctx), req, socket, head).catch(() => socket.destroy());
      },
      tcp: (ctx, socket) => {
        if (!ctx.original) socket.destroy();
        else void spliceTcp(socket, { address: appAddress(ctx.original), port: ctx.original.port }, core.inflight, core.log);
      },
    },
  });

  ownPorts.add(outbound.port).add(inbound.port);
  let draining = false;
  const listeners = [outbound, inbound] as ProxyListener<unknown>[];
  const admin: AdminServer = await startAdminServer(host, opts.ports?.admin ?? PORTS.admin, {
    table: () => core.holder.current,
    ready: () => !draining && core.holder.current !== null,
    rejected: () => core.holder.rejected,
    lastError: () => core.holder.lastError,
    info: () => ({ mode: 'sidecar', namespace: opts.namespace, explicit: opts.explicit ?? false, inflight: core.inflight.count }),
  });

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      draining = true;
      unsubscribe();
      await drainListeners(listeners, core.inflight, 0);
      await admin.close();
      await core.close();
    })();
    return closed;
  };
  return {
    ports: { outbound: outbound.port, inbound: inbound.port, admin: admin.port },
    core,
    drain: async (deadlineMs) => {
      draining = true;
      const clean = await drainListeners(listeners, core.inflight, deadlineMs);
      await close();
      return clean;
    },
    close,
  };
}
