// The controller under test: a real `meshlet controller` child process (pinned with taskset,
// started and stopped by pid through bench/lib/procs), pointed at the fake apiserver by a
// kubeconfig, serving agents on an ephemeral loopback port that it prints when listening.
// Also: waiting until it is quiet, by its CPU time from /proc rather than by a fixed sleep.
import { join } from 'node:path';
import { cpuOf, processTree, rssOf } from '../lib/proc-stats.ts';
import { sleep, startPinned, type Started } from '../lib/procs.ts';
import { nowMs } from './swarm-protocol.ts';

const BIN = join(import.meta.dirname, '../../bin/meshlet.js');

export interface ControllerProcess {
  proc: Started;
  /** ws://127.0.0.1:PORT */
  url: string;
  /** CPU nanoseconds of the controller's process tree so far. */
  cpuNs(): number;
  rssMB(): number;
  /** Seconds the controller spent in garbage collection so far, by kind (its /metrics: nodejs_gc_duration_seconds). */
  gcSeconds(): Promise<GcSeconds>;
  stop(): Promise<void>;
}

export interface GcSeconds { minor: number; major: number; incremental: number; weakcb: number; /** Major collections (count). */ majorCount: number }

/** The GC histogram's sums and the major count from Prometheus text; kinds absent read 0. */
export function parseGcSeconds(text: string): GcSeconds {
  const sum = (kind: string): number => Number(new RegExp(`^nodejs_gc_duration_seconds_sum\\{kind="${kind}"\\} ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
  const majorCount = Number(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  return { minor: sum('minor'), major: sum('major'), incremental: sum('incremental'), weakcb: sum('weakcb'), majorCount };
}

/** GC time between two readings, ms (all kinds; `majors`: major collections that ended in between). */
export function gcBetween(a: GcSeconds, b: GcSeconds): { ms: number; majors: number } {
  const total = (g: GcSeconds): number => g.minor + g.major + g.incremental + g.weakcb;
  return { ms: (total(b) - total(a)) * 1000, majors: b.majorCount - a.majorCount };
}

/**
 * The controller's environment as the chart and the image give it: the runtime image's
 * NODE_ENV and MALLOC_ARENA_MAX (Dockerfile), and the chart's glibc thresholds for the controller
 * (charts/meshlet/templates/controller-deployment.yaml: big list/watch bodies are mmapped and
 * returned when freed, not kept in a fragmented heap; ADR 0019). Kept equal to the chart's so the
 * bench measures what ships.
 */
export const CONTROLLER_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'production', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072',
};

/** `entry`: the meshlet the bench runs (bench/lib/meshlet-runtime.ts: the built JavaScript by default). */
export async function startControllerProcess(kubeconfig: string, cpus: string, timeoutMs = 60_000, entry = BIN): Promise<ControllerProcess> {
  // No leader election: a single replica that always writes statuses, as the only replica does.
  // CP_BENCH_CPU_PROF=<dir>: the controller writes a V8 CPU profile there when it stops.
  const prof = process.env.CP_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CP_BENCH_CPU_PROF}`] : [];
  // CP_BENCH_NODE_ARGS='--trace-gc ...': more Node/V8 flags for the controller (CP_BENCH_DEBUG prints its output at the end).
  const nodeArgs = process.env.CP_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const proc = startPinned('controller', cpus, process.execPath, [
    ...prof, ...nodeArgs, entry, 'controller', '--kubeconfig', kubeconfig, '--listen-host', '127.0.0.1', '--listen-port', '0', '--leader-elect', 'false', '--ca', 'off', '--webhook-port=-1', '--admin-host', '127.0.0.1', '--admin-port', '0',
  ], { ...process.env, ...CONTROLLER_ENV });
  const deadline = Date.now() + timeoutMs;
  let port: string | undefined;
  let adminPort: string | undefined;
  for (;;) {
    port = /serving agents on (?:ws:\/\/)?127\.0\.0\.1:(\d+)/.exec(proc.output())?.[1];
    adminPort = /admin \(\/ready, \/metrics\) on 127\.0\.0\.1:(\d+)/.exec(proc.output())?.[1];
    if (port !== undefined && adminPort !== undefined) break;
    if (proc.exited()) throw new Error(`controller exited at start:\n${proc.tail()}`);
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`controller did not listen within ${timeoutMs} ms:\n${proc.tail()}`);
    }
    await sleep(20);
  }
  const tree = (): number[] => processTree(proc.pid);
  return {
    proc, url: `ws://127.0.0.1:${port}`,
    cpuNs: () => cpuOf(tree()).ns,
    rssMB: () => rssOf(tree()) / 2 ** 20,
    gcSeconds: async () => parseGcSeconds(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()),
    stop: () => proc.stop(),
  };
}

export interface QuietResult { quiet: boolean; waitedMs: number; /** CPU share of one core in the last window. */ lastShare: number }

/**
 * Waits at least `minMs`, then until the controller used under `share` of a core over a
 * `windowMs` window (its work from the last change is done: acks counted, statuses written),
 * or `maxMs` passed.
 */
export async function waitQuiet(c: ControllerProcess, opts: { minMs?: number; maxMs: number; windowMs?: number; share?: number }): Promise<QuietResult> {
  const started = nowMs();
  const windowMs = opts.windowMs ?? 500;
  const share = opts.share ?? 0.05;
  if (opts.minMs) await sleep(opts.minMs);
  for (;;) {
    const ns0 = c.cpuNs();
    const t0 = nowMs();
    await sleep(windowMs);
    const lastShare = (c.cpuNs() - ns0) / 1e6 / (nowMs() - t0);
    if (lastShare < share) return { quiet: true, waitedMs: nowMs() - started, lastShare };
    if (nowMs() - started > opts.maxMs) return { quiet: false, waitedMs: nowMs() - started, lastShare };
  }
}

/** The controller's CPU share of one core over `ms` with nothing happening (heartbeats only). */
export async function idleShare(c: ControllerProcess, ms: number): Promise<number> {
  const ns0 = c.cpuNs();
  const t0 = nowMs();
  await sleep(ms);
  return (c.cpuNs() - ns0) / 1e6 / (nowMs() - t0);
}

/**
 * The controller's steady idle share: the lowest of `windows` consecutive windows of `ms`. Work
 * done once after a busy spell (the idle heap collection, ADR 0019: 0.3-1 s of CPU once the
 * agents' connect burst is over) lands in one or two of them and made a single window read
 * 12-26 % (issue 14); heartbeats, spread over every second, fall in each. All windows are kept.
 */
export async function steadyIdleShare(c: ControllerProcess, ms: number, windows = 3): Promise<{ share: number; windows: number[] }> {
  const shares: number[] = [];
  for (let i = 0; i < windows; i++) shares.push(await idleShare(c, ms));
  return { share: Math.min(...shares), windows: shares };
}
