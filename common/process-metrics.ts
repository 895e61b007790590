// Process metrics in the names Prometheus's own client libraries use, so standard dashboards
// (CPU, memory, start time, GC) work for meshlet's processes unchanged. Garbage collections are
// observed from the moment this module is loaded (the controller's admin runner and the agent's
// metrics import it at startup), so a pause that delayed a change or a reload shows as a
// `nodejs_gc_duration_seconds` bucket that moved (issue 14: was a slow change a collection?).
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { memoryUsage, uptime } from 'node:process';
import { BucketHistogram } from './prometheus.ts';

const START_SECONDS = Date.now() / 1000 - uptime();

export function processMetrics(): string {
  const cpu = process.cpuUsage();
  const mem = memoryUsage();
  return [
    '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
    '# TYPE process_cpu_seconds_total counter',
    `process_cpu_seconds_total ${((cpu.user + cpu.system) / 1e6).toFixed(6)}`,
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${mem.rss}`,
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    `process_start_time_seconds ${START_SECONDS.toFixed(3)}`,
    '# HELP nodejs_heap_used_bytes V8 heap in use.',
    '# TYPE nodejs_heap_used_bytes gauge',
    `nodejs_heap_used_bytes ${mem.heapUsed}`,
    '',
  ].join('\n') + gcDurations.text();
}

/** prom-client's buckets for `nodejs_gc_duration_seconds` (seconds), so its dashboards fit. */
export const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5] as const;
export const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'] as const;
export type GcKind = typeof GC_KINDS[number];

/** V8's GC kind (the `gc` entry's detail.kind) as prom-client labels it; a young-generation mark-sweep is minor. */
function kindOf(kind: number): GcKind | undefined {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MINOR:
    case constants.NODE_PERFORMANCE_GC_MINOR_MARK_SWEEP: return 'minor';
    case constants.NODE_PERFORMANCE_GC_MAJOR: return 'major';
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL: return 'incremental';
    case constants.NODE_PERFORMANCE_GC_WEAKCB: return 'weakcb';
    default: return undefined;
  }
}

/** Collections on this thread by kind: a Prometheus histogram of their durations. */
export class GcDurations {
  readonly #counts = new Map<GcKind, BucketHistogram>(GC_KINDS.map((k) => [k, new BucketHistogram(GC_BUCKETS)]));
  #observer: PerformanceObserver | null = null;

  start(): this {
    if (this.#observer) return this;
    this.#observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.observe(e);
    });
    this.#observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): void {
    this.#observer?.disconnect();
    this.#observer = null;
  }

  observe(e: { duration: number; detail?: unknown }): void {
    const kind = kindOf((e.detail as { kind?: number } | undefined)?.kind ?? -1);
    if (!kind) return;
    this.#counts.get(kind)!.observe(e.duration / 1000);
  }

  /** Total seconds of collection so far, all kinds (the bench reads it around a change). */
  get totalSeconds(): number {
    let t = 0;
    for (const h of this.#counts.values()) t += h.sum;
    return t;
  }

  text(): string {
    const name = 'nodejs_gc_duration_seconds';
    const lines = [`# HELP ${name} Garbage collection duration by kind, one of major, minor, incremental or weakcb.`, `# TYPE ${name} histogram`];
    for (const [kind, h] of this.#counts) lines.push(...h.lines(name, `kind="${kind}"`));
    return `${lines.join('\n')}\n`;
  }
}

/** The process's: started on load, so it covers startup. */
export const gcDurations = new GcDurations().start();
