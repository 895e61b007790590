// Shared by the reload-under-traffic tests (file mode and controller mode): a fixed-rate probe
// through a proxy that records every latency and failure, a bounded poll that says how long a
// condition took, a process's RSS from /proc, and the figures the tests report and assert on.
import { readFile } from 'node:fs/promises';
import { send } from '../support/http-client.ts';

export interface ProbeResult {
  latencies: number[];
  failures: string[];
}

/** GETs for `cart.shop` through `port` at `rps` until stopped; every latency, and failures. */
export function probe(port: number, rps: number): { stop: () => Promise<ProbeResult> } {
  const latencies: number[] = [];
  const failures: string[] = [];
  const inflight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const t0 = performance.now();
    const p = send({ port, authority: 'cart.shop', timeoutMs: 10_000 }).then(
      (r) => {
        latencies.push(performance.now() - t0);
        if (r.status !== 200) failures.push(`status ${r.status}`);
      },
      (err: Error) => {
        latencies.push(performance.now() - t0);
        failures.push(err.message);
      },
    ).finally(() => inflight.delete(p));
    inflight.add(p);
  }, 1000 / rps);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inflight);
      return { latencies, failures };
    },
  };
}

/** Polls `fn` every 100 ms (at most 1 000 times) until true; how long it took, or throws after `ms`. */
export async function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  for (let i = 0; i < 1_000 && Date.now() - start < ms; i++) {
    if (await fn()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

export const maxMs = (l: number[]): number => Math.round(Math.max(...l));
export const p99Ms = (l: number[]): number => Math.round([...l].sort((a, b) => a - b)[Math.floor(l.length * 0.99)] ?? 0);
