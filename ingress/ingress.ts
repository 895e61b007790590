// The ingress composition: a ProxyCore, a set of Gateway listeners reconciled with each routing
// table, and the admin server. Requests are routed with a gateway target (Gateway name and the
// listener port they arrived on).
import { PORTS } from '../api/names.ts';
import { startAdminServer } from '../agent/admin/admin-server.ts';
import { ProxyCore, type CoreOptions } from '../agent/outbound/core.ts';
import type { RunningProxy } from '../agent/sidecar.ts';
import type { TableSource } from '../agent/table-source.ts';
import { ListenerSet } from './listener-set.ts';

export interface IngressOptions extends CoreOptions {
  source: TableSource;
  /** Bind address (default 0.0.0.0). */
  host?: string;
  /** Port actually bound for a Gateway listener port (tests map to 0). Default: the same. */
  bindPort?: (gatewayPort: number) => number;
  adminPort?: number;
  detectTimeoutMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface RunningIngress extends RunningProxy {
  /** Gateway listener port -> bound port, for the listeners open now. */
  listenerPorts(): Map<number, number>;
  /** Resolves when listeners match the latest routing table. */
  settled(): Promise<void>;
}

export async function startIngress(opts: IngressOptions): Promise<RunningIngress> {
  const core = new ProxyCore(opts);
  const listeners = new ListenerSet(core, {
    host: opts.host ?? '0.0.0.0',
    bindPort: opts.bindPort ?? ((p) => p),
    detectTimeoutMs: opts.detectTimeoutMs,
    headersTimeoutMs: opts.headersTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
  });
  const unfollow = core.holder.follow(opts.source);
  // Subscribed after the holder, so it sees the table the holder just accepted (or kept).
  const unsubscribe = opts.source.subscribe(() => listeners.reconcile(core.holder.current?.table ?? null));
  listeners.reconcile(core.holder.current?.table ?? null);
  await listeners.settled();

  let draining = false;
  const admin = await startAdminServer(opts.host ?? '0.0.0.0', opts.adminPort ?? PORTS.admin, {
    table: () => core.holder.current,
    ready: () => !draining && core.holder.current !== null,
    rejected: () => core.holder.rejected,
    lastError: () => core.holder.lastError,
    info: () => ({ mode: 'ingress', listeners: Object.fromEntries(listeners.ports()), inflight: core.inflight.count }),
  });

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      draining = true;
      unsubscribe();
      unfollow();
      await listeners.drain(0);
      await admin.close();
      await core.close();
    })();
    return closed;
  };
  return {
    get ports() {
      return { ...Object.fromEntries([...listeners.ports()].map(([k, v]) => [String(k), v])), admin: admin.port };
    },
    core,
    listenerPorts: () => listeners.ports(),
    settled: () => listeners.settled(),
    drain: async (deadlineMs) => {
      draining = true;
      unsubscribe();
      const clean = await listeners.drain(deadlineMs);
      await close();
      return clean;
    },
    close,
  };
}
