// The sidecar's outbound side (15001): each connection's target is its original destination
// (a Service ClusterIP:port), routed with the pod's namespace for consumer routes. In explicit
// mode the listener also serves requests addressed to itself: by Service name or ClusterIP in
// the Host header, as an HTTP proxy (absolute-form), or through CONNECT. In controller mode a
// destination the table does not know yet is subscribed to before the connection is routed, and
// refused (503, or closed for TCP) while the controller has not answered for it: passing it
// through would send plaintext to a Service whose workloads may be meshed. Only destinations
// inside the cluster networks are asked about; one outside them cannot be a Service of this
// cluster and goes straight to where the app was connecting, with no wait.
import type http from 'node:http';
import type net from 'node:net';
import type { RoutingTable } from '../../api/routing-table.ts';
import type { ProxyCore } from '../engine/core.ts';
import { serveHttp, sitePerConnection } from '../engine/http-handler.ts';
import type { Destination } from '../engine/plan.ts';
import { clientError, noRoutingTable, notResolvedYet } from '../engine/rejection.ts';
import { spliceTcp } from '../engine/tcp-proxy.ts';
import { handleUpgrade } from '../engine/upgrade.ts';
import { fastPathWanted } from '../engine/h1-fast/downstream-switch.ts';
import { connectionContext, type ConnCtx, type OriginalDst } from '../listener/connection-context.ts';
import { ProxyListener } from '../listener/proxy-listener.ts';
import { sideListenerOptions } from '../listener/side-options.ts';
import { serviceKey } from '../route/compile.ts';
import { declaresHttp, protocolForAppProtocol } from './app-protocol.ts';
import { isLoopbackPeer, isSelf } from './explicit-access.ts';
import { resolveExplicit } from './explicit-target.ts';
import type { OutboundOptions } from './types.ts';

export async function startOutbound(core: ProxyCore, opts: OutboundOptions): Promise<ProxyListener<ConnCtx>> {
  const table = (): RoutingTable | null => core.holder.current?.table ?? null;
  const servicePort = (od: OriginalDst) => core.holder.current?.compiled.services.get(serviceKey(od.address, od.port)) ?? null;
  const baseContext = connectionContext(opts.originalDestination);

  // A kept-alive connection asks for the same destination on each request (the same original
  // destination; in explicit mode, nearly always the same Host): the last answer is kept per
  // connection with what it was decided from (the table, the authority) and reused while they hold.
  const last = new WeakMap<ConnCtx, { table: RoutingTable | null; authority: string; dest: Destination }>();
  const destination = (ctx: ConnCtx, authority: string): Destination => {
    if (ctx.original && ctx.unresolved) return { kind: 'reject', rejection: notResolvedYet(ctx.unresolved) };
    const t = table();
    const kept = last.get(ctx);
    if (kept !== undefined && kept.table === t && kept.authority === authority) return kept.dest;
    const dest = decideDestination(ctx, authority, t);
    last.set(ctx, { table: t, authority, dest });
    return dest;
  };
  const decideDestination = (ctx: ConnCtx, authority: string, t: RoutingTable | null): Destination => {
    if (ctx.original) return { kind: 'route', target: { kind: 'mesh', ...ctx.original, clientNamespace: opts.namespace } };
    if (!opts.explicit) return { kind: 'reject', rejection: clientError(400, 'connection was not redirected to the sidecar (explicit mode is off)') };
    if (!isLoopbackPeer(ctx.remoteAddress)) return { kind: 'reject', rejection: clientError(403, 'explicit mode serves only clients on this host') };
    if (!t) return { kind: 'reject', rejection: noRoutingTable() };
    const r = resolveExplicit(t, authority, opts.namespace);
    if (r.kind === 'unknown') return { kind: 'reject', rejection: clientError(404, r.reason) };
    if (isSelf(opts.host, r.address, r.port)) return { kind: 'reject', rejection: clientError(400, 'request addressed to the sidecar itself') };
    if (!servicePort(r)) return { kind: 'reject', rejection: clientError(404, `${r.address}:${r.port} is not a mesh Service port`) };
    return { kind: 'route', target: { kind: 'mesh', address: r.address, port: r.port, clientNamespace: opts.namespace } };
  };
  const site = sitePerConnection((ctx: ConnCtx) => ({
    kind: 'outbound' as const,
    scheme: 'http' as const,
    destination: (_req, desc) => destination(ctx, desc.authority),
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
    listener.adopt(socket, { original: { address: r.address, port: r.port }, remoteAddress: ctx.remoteAddress });
  };

  // On-demand subscription: asked at accept time (overlapping protocol detection); the
  // connection's first handler waits for the answer, later ones run at once. Unanswered, each
  // later request on the connection asks again (bounded), so a controller that comes back
  // unblocks a kept-alive connection too.
  const ask = opts.onUnknownDestination;
  const inCluster = (od: OriginalDst): boolean => !opts.clusterNetworks || opts.clusterNetworks.contains(od.address);
  const askFor = (ctx: ConnCtx, od: OriginalDst): void => {
    ctx.asking = ask!(od.address, od.port).catch(() => false).then((answered) => {
      ctx.unresolved = answered || servicePort(od) ? null
        : `no routing answer from the controller for ${od.address}:${od.port} yet (refused rather than sent outside the mesh)`;
    });
  };
  const context = (socket: net.Socket): ConnCtx => {
    const ctx = baseContext(socket);
    if (ask && ctx.original && !servicePort(ctx.original) && inCluster(ctx.original)) askFor(ctx, ctx.original);
    return ctx;
  };
  const whenKnown = (ctx: ConnCtx, run: () => void): void => {
    if (!ctx.asking && ctx.unresolved && ask && ctx.original) askFor(ctx, ctx.original);
    if (!ctx.asking) return run();
    void ctx.asking.then(() => {
      ctx.asking = null;
      run();
    });
  };

  // Opaque TCP: a known Service port is balanced over its endpoints; anything else goes
  // straight to where the app was connecting.
  const tcp = (ctx: ConnCtx, socket: net.Socket): void => {
    if (!ctx.original || ctx.unresolved) {
      if (ctx.unresolved) core.logger.warn(`outbound TCP to ${ctx.original!.address}:${ctx.original!.port} closed: ${ctx.unresolved}`);
      socket.destroy();
      return;
    }
    const svc = servicePort(ctx.original);
    const backend = svc ? core.backends(table()!).get(svc.port.defaultBackend) : undefined;
    const ep = backend ? core.balancer.pick(backend) : null;
    if (backend && !ep) {
      socket.destroy();
      return;
    }
    void spliceTcp(core, 'outbound', socket, ep ?? ctx.original);
  };

  const fast = fastPathWanted(opts.h1Fast) ? await import('../engine/h1-fast/downstream-hook.ts') : null;
  const listener: ProxyListener<ConnCtx> = await ProxyListener.listen<ConnCtx>({
    ...sideListenerOptions<ConnCtx>({ ...opts, host: opts.host.bind }, (msg) => core.logger.warn(msg)),
    handlers: {
      context,
      protocolHint: (ctx) => protocolForAppProtocol(ctx.original ? servicePort(ctx.original)?.port.appProtocol : null),
      declaredHttp: (ctx) => {
        const svc = ctx.original ? servicePort(ctx.original) : null;
        return svc !== null && declaresHttp(svc.port);
      },
      request: (ctx, req, res) => whenKnown(ctx, () => serveHttp(core, site(ctx), req, res)),
      upgrade: (ctx, req, socket, head) => whenKnown(ctx, () => {
        handleUpgrade(core, site(ctx), req, socket, head).catch(() => socket.destroy());
      }),
      connect: onConnect,
      tcp: (ctx, socket) => whenKnown(ctx, () => tcp(ctx, socket)),
      // A destination still being asked about (or unanswered) stays on the general path, which waits.
      http1: fast?.http1Handler(core, site, { take: (ctx) => !ctx.asking && !ctx.unresolved, remoteAddress: (ctx) => ctx.remoteAddress }),
    },
  });
  opts.host.ownPorts.add(listener.port);
  return listener;
}
