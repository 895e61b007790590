// The sidecar's inbound side (15006): connections redirected to the pod are delivered to the
// app on their original port. The app address defaults to the connection's original
// destination (the pod IP), so services the app bound to 127.0.0.1 only are never exposed
// through the sidecar (the reason Istio 1.10 stopped forwarding to localhost). Mesh mTLS is
// terminated here (mesh-mtls.ts): the app learns who called from x-forwarded-client-cert, and
// under STRICT plaintext is refused.
import type net from 'node:net';
import type { ProxyCore } from '../engine/core.ts';
import { serveHttp, sitePerConnection, type HttpSite } from '../engine/http-handler.ts';
import type { Destination } from '../engine/plan.ts';
import { sendStatus } from '../engine/error-response.ts';
import { clientError } from '../engine/rejection.ts';
import { spliceTcp } from '../engine/tcp-proxy.ts';
import { handleUpgrade } from '../engine/upgrade.ts';
import { fastPathWanted } from '../engine/h1-fast/downstream-switch.ts';
import type { Admission } from '../engine/h1-fast/engine-bridge.ts';
import { connectionContext, type ConnCtx, type OriginalDst, type OriginalDestinationFn } from '../listener/connection-context.ts';
import { ProxyListener } from '../listener/proxy-listener.ts';
import { sideListenerOptions } from '../listener/side-options.ts';
import type { InboundMtls } from './mesh-mtls.ts';
import { forwardedClientCert, XFCC } from './xfcc.ts';
import { PEER_WORKLOAD_HEADER } from '../telemetry/peer-workload.ts';
import { authorize, type AuthzDecision, type DefaultInboundPolicy } from './authorize.ts';
import type { RoutingTable } from '../../api/routing-table.ts';

export interface InboundOptions {
  port: number;
  host: string;
  originalDestination?: OriginalDestinationFn;
  /** Where inbound traffic is delivered (default: the connection's original destination). */
  appAddress?: string;
  detectTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Mesh mTLS termination and the PERMISSIVE/STRICT mode; null: plaintext only. */
  mtls?: InboundMtls | null;
  /** For endpoints no AuthorizationPolicy governs (default allow). */
  defaultPolicy?: DefaultInboundPolicy;
  /** The app's port for a connection's original port (`meshlet dev` shifts them; default: the same). */
  appPortFor?: (port: number) => number;
  /** HTTP/1.1 on the fast path (ADR 0017); default: on unless MESHLET_H1_FAST=0. */
  h1Fast?: boolean;
}

/** Why a request was denied, for the caller (HTTP) and its logs. */
export const DENIED_HEADER = 'x-meshlet-denied-reason';

/** What `decorate` removes from every request; the fast path leaves them out before it (engine-bridge.ts). */
const STRIPPED: readonly string[] = [XFCC, PEER_WORKLOAD_HEADER];

const MTLS_REQUIRED = 'STRICT mTLS: plaintext is refused (the caller is not a mesh workload)';

export interface InboundSide {
  listener: ProxyListener<ConnCtx>;
  /** Authorization decisions since start. */
  authz: { allowed: number; denied: number };
}

export async function startInbound(core: ProxyCore, opts: InboundOptions): Promise<InboundSide> {
  const mtls = opts.mtls ?? null;
  const app = (od: OriginalDst) => ({ address: opts.appAddress ?? od.address, port: opts.appPortFor?.(od.port) ?? od.port });
  const defaultPolicy = opts.defaultPolicy ?? 'allow';
  const counts = { allowed: 0, denied: 0 };
  // A connection's caller (its verified peer) and original destination do not change, so its
  // verdict holds until the routing table does: decided once per connection and table, not per
  // request (authorize() walks and filters the policies each time).
  const verdicts = new WeakMap<ConnCtx, { table: RoutingTable | null; decision: AuthzDecision }>();
  /** Authorization of the connection's caller at its original destination; logged once per (policy, caller). */
  const denied = (ctx: ConnCtx): string | null => {
    if (!ctx.original) return null;
    const table = core.holder.current?.table ?? null;
    let v = verdicts.get(ctx);
    if (v === undefined || v.table !== table) {
      v = { table, decision: authorize(table, ctx.original.address, ctx.original.port, ctx.peer ?? null, defaultPolicy) };
      verdicts.set(ctx, v);
    }
    const d = v.decision;
    if (d.allowed) {
      counts.allowed++;
      return null;
    }
    counts.denied++;
    core.logOnce(`deny|${d.policies.join(',')}|${ctx.peer ?? ''}|${ctx.original.port}`, `inbound: denied ${ctx.peer ?? 'plaintext caller'} from ${ctx.remoteAddress} to port ${ctx.original.port}: ${d.reason} (logged once per caller and policy)`);
    return d.reason;
  };
  const destination = (ctx: ConnCtx): Destination => ctx.original
    ? { kind: 'direct', endpoint: app(ctx.original), reason: 'inbound' }
    : { kind: 'reject', rejection: clientError(400, 'inbound connection without an original destination') };
  // A connection's destination is its original destination's app port: the same for each of its
  // requests, built once (the site is built once per connection).
  const site = sitePerConnection((ctx: ConnCtx): HttpSite => {
    const dest = destination(ctx);
    const peer = ctx.peer ?? null;
    // The connection's XFCC value: its peer is fixed, so the string is built (and flattened by its
    // first write) once per connection and own identity, not per request.
    let xfccBy: string | null = null;
    let xfcc = '';
    return {
      kind: 'inbound',
      scheme: 'http',
      peerIdentity: peer,
      destination: () => dest,
      // Whatever a client claims is dropped; only a verified mTLS peer is named. The caller's
      // workload header is for this proxy's metrics (telemetry/peer-workload.ts), not the app.
      // A `delete` is a runtime call even when the field is absent (most requests): tested first.
      decorate: (_req, headers) => {
        if (headers[XFCC] !== undefined) delete headers[XFCC];
        if (headers[PEER_WORKLOAD_HEADER] !== undefined) delete headers[PEER_WORKLOAD_HEADER];
        if (peer === null || mtls === null) return;
        const own = mtls.ownIdentity();
        if (own === null) return;
        if (own !== xfccBy) {
          xfccBy = own;
          xfcc = forwardedClientCert(own, peer);
        }
        headers[XFCC] = xfcc;
      },
    };
  });
  const refused = (ctx: ConnCtx): boolean => {
    if (!mtls?.refusesPlaintext() || ctx.peer) return false;
    mtls.countRefusal(MTLS_REQUIRED, ctx.remoteAddress);
    return true;
  };
  const tcp = (ctx: ConnCtx, socket: net.Socket): void => {
    if (!ctx.original || refused(ctx) || denied(ctx) !== null) socket.destroy();
    else void spliceTcp(core, 'inbound', socket, app(ctx.original), ctx.peer ?? null, ctx.peer ? mtls?.peerWorkload(socket) ?? null : null);
  };
  // The fast path answers the same refusals as `request` below, with the same headers.
  const admit = (ctx: ConnCtx): Admission | null => {
    if (refused(ctx)) return { rejection: clientError(403, MTLS_REQUIRED), headers: { [DENIED_HEADER]: MTLS_REQUIRED }, close: true };
    const reason = denied(ctx);
    return reason === null ? null : { rejection: clientError(403, `RBAC: access denied: ${reason}`), headers: { [DENIED_HEADER]: reason }, close: false };
  };
  const fast = fastPathWanted(opts.h1Fast) ? await import('../engine/h1-fast/downstream-hook.ts') : null;
  const listener: ProxyListener<ConnCtx> = await ProxyListener.listen<ConnCtx>({
    ...sideListenerOptions<ConnCtx>(opts, (msg) => core.logger.warn(msg)),
    handlers: {
      context: connectionContext(opts.originalDestination),
      request: (ctx, req, res) => {
        if (refused(ctx)) {
          req.resume();
          // The same header as a policy denial: one place to look for why a 403 came from the mesh.
          sendStatus(res, clientError(403, MTLS_REQUIRED), { connection: 'close', [DENIED_HEADER]: MTLS_REQUIRED });
          return;
        }
        const reason = denied(ctx);
        if (reason !== null) {
          req.resume();
          sendStatus(res, clientError(403, `RBAC: access denied: ${reason}`), { [DENIED_HEADER]: reason });
          return;
        }
        serveHttp(core, site(ctx), req, res);
      },
      upgrade: (ctx, req, socket, head) => {
        if (refused(ctx) || denied(ctx) !== null) {
          socket.destroy();
          return;
        }
        handleUpgrade(core, site(ctx), req, socket, head).catch(() => socket.destroy());
      },
      tcp,
      http1: fast?.http1Handler(core, site, { admit, strip: STRIPPED, remoteAddress: (ctx) => ctx.remoteAddress }),
      tls: (ctx, socket) => {
        if (!mtls) return tcp(ctx, socket);
        mtls.handle(
          socket,
          (tlsSocket, inner, peer) => listener.accept(tlsSocket, { ...ctx, peer }, inner),
          (raw) => tcp(ctx, raw),
        );
      },
    },
  });
  return { listener, authz: counts };
}
