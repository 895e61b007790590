// Graceful shutdown: stop accepting, let in-flight requests and tunnels finish up to a deadline,
// then cut what is left. `onSigterm` wires it to SIGTERM and exits 0, as kubelet expects.
import type { InflightTracker } from '../engine/inflight.ts';
import type { ProxyListener } from '../listener/proxy-listener.ts';

export interface Drainable {
  drain(deadlineMs: number): Promise<boolean>;
}

/** Returns true when everything finished before the deadline. */
export async function drainListeners(listeners: readonly ProxyListener<unknown>[], inflight: InflightTracker, deadlineMs: number): Promise<boolean> {
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
