// The sidecar: outbound (15001) + inbound (15006) + admin (15020) over one ProxyCore, with the
// lifecycle every proxy shares. Each side lives in its own folder; this file only composes.
import type net from 'node:net';
import { ListenFailedError } from '../api/errors.ts';
import { PORTS } from '../api/names.ts';
import { metric } from '../common/prometheus.ts';
import type { AppHealthOptions } from './admin/app-health.ts';
import { ProxyCore, type CoreOptions } from './engine/core.ts';
import type { WorkloadCertificate } from './identity/certificate-manager.ts';
import { SecureContextCache, type CertificateSource } from './identity/tls-options.ts';
import { startInbound } from './inbound/inbound-listener.ts';
import { InboundMtls, type MtlsMode } from './inbound/mesh-mtls.ts';
import type { DefaultInboundPolicy } from './inbound/authorize.ts';
import { drainInOrder, drainListeners } from './lifecycle/drain.ts';
import { runProxy, type RunningProxy } from './lifecycle/run-proxy.ts';
import type { OriginalDst } from './listener/connection-context.ts';
import type { ProxyListener } from './listener/proxy-listener.ts';
import { startOutbound } from './outbound/outbound-listener.ts';
import type { ListenerTimeouts } from './outbound/types.ts';
import type { ClusterNetworks } from './outbound/cluster-networks.ts';
import type { TableSource } from './table-source.ts';

export type { RunningProxy } from './lifecycle/run-proxy.ts';
export type { OriginalDst } from './listener/connection-context.ts';

export interface SidecarOptions extends CoreOptions, ListenerTimeouts {
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
  /** Where inbound traffic is delivered to the app (default: the original destination). */
  inboundAppAddress?: string;
  /** Controller mode: awaited before routing a destination the table does not know yet. */
  onUnknownDestination?: (address: string, port: number) => Promise<boolean>;
  /** Only destinations inside these ranges are asked about (Linkerd's clusterNetworks); unset: all. */
  clusterNetworks?: ClusterNetworks;
  /** More Prometheus text for the admin port's /metrics (telemetry subscribers). */
  metrics?: readonly (() => string)[];
  /**
   * This workload's identity (a CertificateManager): meshed endpoints get mutual TLS and the
   * inbound side terminates it; `mode` STRICT refuses plaintext inbound. Without it, plaintext.
   */
  identity?: { certificates: CertificateSource & { onChange(l: (c: WorkloadCertificate) => void): () => void }; mode?: MtlsMode };
  /** For inbound endpoints no AuthorizationPolicy governs: allow (default), authenticated or deny. */
  defaultInboundPolicy?: DefaultInboundPolicy;
  /** The app's port for an inbound connection's original port (`meshlet dev`); default the same. */
  inboundAppPortFor?: (port: number) => number;
  /** The app's original probes, run for the kubelet under the admin port's /app-health/. */
  appProbers?: AppHealthOptions;
  /**
   * Drain in order: inbound refused at once, the app's outbound calls served until nothing has
   * been in flight for this long (OUTBOUND_QUIET_MS). Unset: both sides stop together.
   */
  outboundQuietMs?: number;
}

export async function startSidecar(opts: SidecarOptions): Promise<RunningProxy> {
  const id = opts.identity;
  const core = new ProxyCore({ ...opts, mtls: id ? new SecureContextCache(id.certificates) : null });
  const mtls = id ? new InboundMtls({ certificates: id.certificates, mode: id.mode ?? 'PERMISSIVE', logger: core.logger }) : null;
  const unfollow = core.holder.follow(opts.source);
  const host = opts.host ?? '0.0.0.0';
  const timeouts: ListenerTimeouts = { detectTimeoutMs: opts.detectTimeoutMs, headersTimeoutMs: opts.headersTimeoutMs, requestTimeoutMs: opts.requestTimeoutMs, h1Fast: opts.h1Fast };
  const self = { bind: host, ownPorts: new Set<number>() };
  // Issue 15: a port that cannot be bound stops the whole start, and what was already opened is
  // closed again, so the caller can exit instead of running half-started.
  const opened: ProxyListener<unknown>[] = [];
  const abandon = async (err: unknown): Promise<never> => {
    for (const l of opened) {
      l.destroyAll();
      await new Promise<void>((r) => (l.server.listening ? l.server.close(() => r()) : r()));
    }
    unfollow();
    mtls?.close();
    await core.close();
    throw err;
  };
  const outboundPort = opts.ports?.outbound ?? PORTS.outbound;
  const outbound = await startOutbound(core, {
    ...timeouts, namespace: opts.namespace, port: outboundPort, host: self,
    originalDestination: opts.originalDestination, explicit: opts.explicit, onUnknownDestination: opts.onUnknownDestination,
    clusterNetworks: opts.clusterNetworks,
  }).catch((err: unknown) => abandon(new ListenFailedError('outbound port', host, outboundPort, err)));
  opened.push(outbound);
  const inboundPort = opts.ports?.inbound ?? PORTS.inbound;
  const inboundSide = await startInbound(core, {
    ...timeouts, host, port: inboundPort,
    originalDestination: opts.originalDestination, appAddress: opts.inboundAppAddress, mtls,
    defaultPolicy: opts.defaultInboundPolicy, appPortFor: opts.inboundAppPortFor,
  }).catch((err: unknown) => abandon(new ListenFailedError('inbound port', host, inboundPort, err)));
  const inbound = inboundSide.listener;
  opened.push(inbound);
  const authzMetrics = (): string => metric('meshlet_inbound_authorization_total', 'counter', 'Inbound connections and requests by authorization decision.', [
    { labels: { decision: 'allow' }, value: inboundSide.authz.allowed },
    { labels: { decision: 'deny' }, value: inboundSide.authz.denied },
  ]);
  self.ownPorts.add(inbound.port);
  const listeners = [outbound, inbound] as ProxyListener<unknown>[];
  const ports = { outbound: outbound.port, inbound: inbound.port };
  return await runProxy({
    core, host, adminPort: opts.ports?.admin ?? PORTS.admin, mode: 'sidecar',
    ports: () => ports,
    info: () => ({
      namespace: opts.namespace, explicit: opts.explicit ?? false, identity: mtls?.ownIdentity() ?? null, mtlsMode: mtls?.mode ?? null, mtls: mtls?.stats ?? null,
      defaultInboundPolicy: opts.defaultInboundPolicy ?? 'allow', authorization: inboundSide.authz,
      // Which unknown destinations wait for the controller (null: all of them, or none asked: file mode).
      clusterNetworks: opts.clusterNetworks?.cidrs ?? null,
    }),
    unfollow: () => {
      unfollow();
      mtls?.close();
    },
    drainListeners: (deadlineMs) => opts.outboundQuietMs === undefined
      ? drainListeners(listeners, core.inflight, deadlineMs)
      : drainInOrder({ inbound: [inbound], outbound: [outbound], outboundQuietMs: opts.outboundQuietMs }, core.inflight, deadlineMs),
    metrics: [authzMetrics, ...(opts.metrics ?? [])],
    appProbers: opts.appProbers && { log: core.logger, ...opts.appProbers },
  }).catch(abandon);
}
