// The ingress composition: a ProxyCore, a set of Gateway listeners reconciled with each routing
// table, and the lifecycle every proxy shares (admin, readiness, drain). Requests are routed
// with a gateway target (Gateway name and the listener port they arrived on).
import { PORTS } from '../api/names.ts';
import { ProxyCore, type CoreOptions } from '../agent/engine/core.ts';
import { runProxy, type RunningProxy } from '../agent/lifecycle/run-proxy.ts';
import type { TableSource } from '../agent/table-source.ts';
import { ListenerSet, type ListenerState } from './listener-set.ts';

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
  /** HTTP/1.1 on the fast path (ADR 0017); default: on unless MESHLET_H1_FAST=0. */
  h1Fast?: boolean;
  /** More Prometheus text for the admin port's /metrics (telemetry subscribers). */
  metrics?: readonly (() => string)[];
}

export interface RunningIngress extends RunningProxy {
  /** Gateway listener port -> bound port, for the listeners open now. */
  listenerPorts(): Map<number, number>;
  /** Every wanted Gateway listener port: bound, or not programmed and why. */
  listenerStates(): Map<number, ListenerState>;
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
    h1Fast: opts.h1Fast,
  });
  const unfollow = core.holder.follow(opts.source);
  // Subscribed after the holder, so it sees the table the holder just accepted (or kept).
  const unsubscribe = opts.source.subscribe(() => listeners.reconcile(core.holder.current?.table ?? null));
  listeners.reconcile(core.holder.current?.table ?? null);
  await listeners.settled();

  const proxy = await runProxy({
    core, host: opts.host ?? '0.0.0.0', adminPort: opts.adminPort ?? PORTS.admin, mode: 'ingress',
    ports: () => Object.fromEntries([...listeners.ports()].map(([k, v]) => [String(k), v])),
    info: () => ({
      listeners: Object.fromEntries(listeners.ports()),
      // Gateway listener ports that could not be bound (issue 15), with the reason.
      notProgrammed: Object.fromEntries([...listeners.states()].flatMap(([p, st]) => (st.programmed ? [] : [[p, st.reason]]))),
    }),
    unfollow: () => {
      unsubscribe();
      unfollow();
    },
    beforeDrain: unsubscribe,
    drainListeners: (deadlineMs) => listeners.drain(deadlineMs),
    metrics: [() => listeners.metrics(), ...(opts.metrics ?? [])],
  }).catch(async (err: unknown) => {
    // No admin port (issue 15): close what is open, so the process can exit with the reason.
    unsubscribe();
    unfollow();
    await listeners.drain(0);
    await core.close();
    throw err;
  });
  return Object.assign(proxy, {
    listenerPorts: () => listeners.ports(),
    listenerStates: () => listeners.states(),
    settled: () => listeners.settled(),
  });
}
