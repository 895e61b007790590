// The sidecar's inbound side (15006): connections redirected to the pod are delivered to the
// app on their original port. The app address defaults to the connection's original
// destination (the pod IP), so services the app bound to 127.0.0.1 only are never exposed
// through the sidecar (the reason Istio 1.10 stopped forwarding to localhost). This is where
// mTLS termination and authorization sit.
import type net from 'node:net';
import type { ProxyCore } from '../engine/core.ts';
import { serveHttp, sitePerConnection } from '../engine/http-handler.ts';
import type { Destination } from '../engine/plan.ts';
import { spliceTcp } from '../engine/tcp-proxy.ts';
import { handleUpgrade } from '../engine/upgrade.ts';
import { connectionContext, type ConnCtx, type OriginalDst, type OriginalDestinationFn } from '../listener/connection-context.ts';
import { ProxyListener } from '../listener/proxy-listener.ts';

export interface InboundOptions {
  port: number;
  host: string;
  originalDestination?: OriginalDestinationFn;
  /** Where inbound traffic is delivered (default: the connection's original destination). */
  appAddress?: string;
  detectTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export async function startInbound(core: ProxyCore, opts: InboundOptions): Promise<ProxyListener<ConnCtx>> {
  const app = (od: OriginalDst) => ({ address: opts.appAddress ?? od.address, port: od.port });
  const destination = (ctx: ConnCtx): Destination => ctx.original
    ? { kind: 'direct', endpoint: app(ctx.original), reason: 'inbound' }
    : { kind: 'reject', status: 400, reason: 'inbound connection without an original destination' };
  const site = sitePerConnection((ctx: ConnCtx) => ({ kind: 'inbound' as const, scheme: 'http' as const, destination: () => destination(ctx) }));
  return ProxyListener.listen<ConnCtx>({
    host: opts.host,
    port: opts.port,
    detectTimeoutMs: opts.detectTimeoutMs,
    headersTimeoutMs: opts.headersTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    log: (msg) => core.logger.warn(msg),
    handlers: {
      context: connectionContext(opts.originalDestination),
      request: (ctx, req, res) => serveHttp(core, site(ctx), req, res),
      upgrade: (ctx, req, socket, head) => {
        handleUpgrade(core, site(ctx), req, socket, head).catch(() => socket.destroy());
      },
      tcp: (ctx, socket: net.Socket) => {
        if (!ctx.original) socket.destroy();
        else void spliceTcp(core, 'inbound', socket, app(ctx.original));
      },
    },
  });
}
