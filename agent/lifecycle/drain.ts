// Graceful shutdown: stop accepting, let in-flight requests and tunnels finish up to a deadline,
// then cut what is left. `onSigterm` wires it to SIGTERM and exits 0, as kubelet expects.
// A sidecar drains in order (drainInOrder): the pod's inbound side first, its app's outbound
// calls last, because the app may still be finishing requests that call other services.
import type { InflightTracker } from '../engine/inflight.ts';
import type { ProxyListener } from '../listener/proxy-listener.ts';

export interface Drainable {
  drain(deadlineMs: number): Promise<boolean>;
}

/** Returns true when everything finished before the deadline. */
export async function drainListeners(listeners: readonly DrainableListener[], inflight: InflightTracker, deadlineMs: number): Promise<boolean> {
  for (const l of listeners) void l.stopAccepting();
  // Keep closing keep-alive connections that become idle while requests finish.
  const sweep = setInterval(() => {
    for (const l of listeners) l.closeIdle();
  }, 50);
  try {
    const idle = await inflight.idle(deadlineMs);
    for (const l of listeners) l.closeIdle();
    return idle;
  } finally {
    clearInterval(sweep);
    for (const l of listeners) l.destroyAll();
  }
}

/** The part of a listener an ordered drain uses (tests pass stand-ins). */
export type DrainableListener = Pick<ProxyListener<unknown>, 'stopAccepting' | 'closeIdle' | 'destroyAll' | 'server'>;

/**
 * How long nothing may be in flight before a sidecar stops serving its app's outbound calls.
 * Native sidecars are stopped by the kubelet only after the app's containers exited, so no
 * call can follow. In legacy mode the app gets SIGTERM at the same moment as the agent and
 * may call out while it drains; 5 s of quiet is Istio's terminationDrainDuration.
 */
export const OUTBOUND_QUIET_MS = { native: 0, legacy: 5_000 } as const;

export interface DrainOrder {
  /** Connections into the pod: refused from the first moment of the drain. */
  inbound: readonly DrainableListener[];
  /** The app's own calls: served until nothing has been in flight for `outboundQuietMs`. */
  outbound: readonly DrainableListener[];
  outboundQuietMs: number;
  /** How often the in-flight count is sampled (default 20 ms). */
  pollMs?: number;
}

/**
 * Waits until nothing has been in flight for `quietMs` (true), or until `endAt` (false). A new
 * connection to a watched listener restarts the quiet period even if its request began and
 * ended between two samples; a short request on a kept-alive connection can go unseen, which
 * only shortens the wait, and the deadline bounds it anyway.
 */
function quiet(inflight: InflightTracker, watched: readonly DrainableListener[], quietMs: number, endAt: number, pollMs: number): Promise<boolean> {
  let quietSince: number | null = inflight.count === 0 ? Date.now() : null;
  const onConnection = (): void => {
    quietSince = null;
  };
  for (const l of watched) l.server.on('connection', onConnection);
  return new Promise<boolean>((resolve) => {
    const tick = (): void => {
      const now = Date.now();
      if (inflight.count > 0) quietSince = null;
      else quietSince ??= now;
      if (quietSince !== null && now - quietSince >= quietMs) return resolve(true);
      if (now >= endAt) return resolve(false);
      setTimeout(tick, Math.min(pollMs, Math.max(endAt - now, 0)));
    };
    tick();
  }).finally(() => {
    for (const l of watched) l.server.off('connection', onConnection);
  });
}

/**
 * The sidecar's drain: inbound listeners stop accepting at once (in-flight inbound requests go
 * on); outbound keeps accepting until nothing has been in flight for the quiet period, then
 * drains like any listener. All within `deadlineMs`; true if everything finished.
 */
export async function drainInOrder(order: DrainOrder, inflight: InflightTracker, deadlineMs: number): Promise<boolean> {
  const endAt = Date.now() + deadlineMs;
  for (const l of order.inbound) void l.stopAccepting();
  const sweep = setInterval(() => {
    for (const l of order.inbound) l.closeIdle();
  }, 50);
  try {
    await quiet(inflight, order.outbound, order.outboundQuietMs, endAt, order.pollMs ?? 20);
    clearInterval(sweep);
    return await drainListeners([...order.outbound, ...order.inbound], inflight, Math.max(endAt - Date.now(), 0));
  } finally {
    clearInterval(sweep);
    for (const l of order.inbound) l.destroyAll();
  }
}

export interface SigtermOptions {
  deadlineMs: number;
  log?: (msg: string) => void;
  exit?: (code: number) => void;
  signal?: NodeJS.Signals;
}

/** Installs the handler; returns a function that removes it. */
export function onSigterm(target: Drainable, opts: SigtermOptions): () => void {
  const signal = opts.signal ?? 'SIGTERM';
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const handler = (): void => {
    opts.log?.(`${signal}: draining (up to ${opts.deadlineMs} ms)`);
    target.drain(opts.deadlineMs).then(
      (clean) => {
        opts.log?.(clean ? 'drained' : 'drain deadline reached; remaining connections closed');
        exit(0);
      },
      () => exit(0),
    );
  };
  process.once(signal, handler);
  return () => {
    process.off(signal, handler);
  };
}
