// Shared by the reload tests (file mode and controller mode, under traffic and memory): a
// fixed-rate probe through a proxy that records every latency and failure, a bounded poll that
// says how long a condition took, a process's RSS from /proc, its event-loop histograms from the
// admin /metrics, the file-mode manifests, and the figures the tests report and assert on.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { send } from '../support/http-client.ts';
import { parsePrometheus } from '../support/prometheus-text.ts';

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

/** A proxy's event-loop histograms (common/event-loop-stalls.ts), read from its admin /metrics. */
export interface LoopStalls {
  /** Observations of how long the serving thread itself held its loop, by bucket bound (s). */
  blocked: Map<string, number>;
  /** How late its 100 ms timer ran (includes CPU starvation by machine load). */
  delay: Map<string, number>;
}

export async function loopStalls(adminPort: number): Promise<LoopStalls> {
  const r = await send({ port: adminPort, path: '/metrics', timeoutMs: 10_000 });
  assert.equal(r.status, 200, r.text);
  const samples = parsePrometheus(r.text);
  const buckets = (name: string): Map<string, number> => new Map(samples.filter((x) => x.name === `${name}_bucket`).map((x) => [x.labels.le!, x.value]));
  const out = { blocked: buckets('meshlet_event_loop_blocked_seconds'), delay: buckets('meshlet_event_loop_delay_seconds') };
  assert.ok(out.blocked.has('0.5') && out.blocked.has('+Inf'), 'the proxy exposes meshlet_event_loop_blocked_seconds');
  return out;
}

/** Between two readings: how many observations were above `le` seconds, and the largest bucket reached. */
export function stallsBetween(before: Map<string, number>, after: Map<string, number>, le: string): { above: number; worst: string } {
  const d = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const bounds = [...after.keys()];
  // The first bucket whose count equals the total holds every observation: the worst one is under it.
  const worst = bounds.find((k) => d(k) === d('+Inf')) ?? '+Inf';
  return { above: d('+Inf') - d(le), worst: worst === '+Inf' ? '> the largest bound' : `<= ${worst} s` };
}

/** The admin port a `meshlet agent` or `meshlet ingress` logged. */
export function adminPortOf(log: string): number | null {
  const m = /admin (?:127\.0\.0\.1:)?(\d+)/.exec(log);
  return m ? Number(m[1]) : null;
}

/** A file-mode directory's small part: Service cart.shop and its endpoint (the echo server). */
export function smallManifest(echoPort: number): string {
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: echoPort, protocol: 'TCP' }] } },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'cart-x', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } }, addressType: 'IPv4', ports: [{ name: 'http', port: echoPort, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] },
  ].map((o) => JSON.stringify(o)).join('\n---\n');
}

/** `routes` Services in namespace `bench`, each with an EndpointSlice (the echo server) and an HTTPRoute of two rules. */
export function bigManifest(echoPort: number, marker: string, routes: number): string {
  const docs: string[] = [];
  for (let i = 0; i < routes; i++) {
    const n = i + 1;
    const ip = `10.${100 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
    docs.push(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'bench' }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: echoPort, protocol: 'TCP' }] } }));
    docs.push(JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `svc-${i}-a`, namespace: 'bench', labels: { 'kubernetes.io/service-name': `svc-${i}` } }, addressType: 'IPv4', ports: [{ name: 'http', port: echoPort, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] }));
    docs.push(JSON.stringify({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: `route-${i}`, namespace: 'bench' },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: `svc-${i}`, port: 80 }],
        // Route 0 has only its header rule, so a request carrying the marker tells which edit is in force.
        rules: [
          { matches: [{ headers: [{ name: 'x-bench', value: i === 0 ? marker : 'initial' }] }], backendRefs: [{ name: `svc-${i}`, port: 80 }] },
          ...(i === 0 ? [] : [{ backendRefs: [{ name: `svc-${i}`, port: 80 }] }]),
        ],
      },
    }));
  }
  return docs.join('\n---\n');
}

const bin = fileURLToPath(new URL('../../bin/meshlet.js', import.meta.url));

/** A file-mode agent (no mTLS, ports chosen by the kernel) started on `dir`, its log collected. */
export interface FileAgent {
  child: ChildProcess;
  log(): string;
}

/**
 * `nice`: start the agent (every thread it will have, GC helpers included) at this niceness through
 * coreutils' `nice`, for a test that judges the agent's own stalls: on a machine loaded by other
 * test files, its GC helpers starved of CPU hold the serving thread too, which is the machine, not
 * the agent. Without the privilege to lower it `nice` warns and runs the agent unchanged.
 */
export function spawnFileAgent(dir: string, opts: { nice?: number } = {}): FileAgent {
  const [cmd, pre] = opts.nice === undefined ? [process.execPath, []] : ['nice', ['-n', String(opts.nice), process.execPath]];
  const child = spawn(cmd, [...pre, bin, 'agent', '--config', dir, '--namespace', 'shop', '--no-mtls', '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0', '--drain-seconds', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr += d;
  });
  return { child, log: () => stderr };
}

/** Waits until the agent listens; its ports, pid, and a request that says whether it got a 200. */
export async function fileAgentReady(a: FileAgent): Promise<{ port: number; admin: number; pid: number; ok: (authority: string, headers?: Record<string, string>) => Promise<boolean> }> {
  await until('the agent listens', () => Promise.resolve(/outbound 127\.0\.0\.1:\d+/.test(a.log()) && adminPortOf(a.log()) !== null), 20_000);
  const port = Number(/outbound 127\.0\.0\.1:(\d+)/.exec(a.log())![1]);
  const ok = async (authority: string, headers: Record<string, string> = {}): Promise<boolean> =>
    (await send({ port, authority, headers, timeoutMs: 10_000 }).catch(() => null))?.status === 200;
  return { port, admin: adminPortOf(a.log())!, pid: a.child.pid!, ok };
}

/** SIGTERM, and wait for the exit. */
export async function stopFileAgent(a: FileAgent | null): Promise<void> {
  if (!a) return;
  a.child.kill('SIGTERM');
  if (a.child.exitCode === null) await new Promise((r) => a.child.once('exit', r));
}
