// How long this thread's event loop was held, measured so that a busy machine does not fake it.
// A timer every 100 ms records, at each turn, the wall time since the last one (its lateness is
// the event-loop delay users feel, which includes time the OS gave the CPU to other processes)
// and how much of that gap the thread spent waiting on a run queue for a CPU (Linux's
// /proc/thread-self/schedstat). The gap minus that wait is what the thread itself held the loop
// for: running, or blocked in a synchronous call (file I/O, waiting for GC helper threads). A
// task of B ms makes it B to B + 100 ms; a process starved by machine load has a large gap but
// spends it on the run queue, so the figure stays near 100 ms. Where schedstat is missing, the
// thread's CPU time (process.threadCpuUsage) stands in, which misses blocking without CPU. Both
// go to Prometheus histograms, so "no stall of 500 ms or more" is a bucket that did not move
// between two scrapes (issue 15 item 5). The clock and schedstat are read as one pair (see
// sample): a wait the kernel accounts between the two readings would otherwise be counted as held.
import { closeSync, openSync, readSync } from 'node:fs';
import { BucketHistogram } from './prometheus.ts';

/** Upper bounds (seconds) of the histogram buckets; 0.5 s is the bound for a reload. */
export const STALL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const INTERVAL_MS = 100;


function histogramText(h: BucketHistogram, name: string, help: string): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`, ...h.lines(name), ''].join('\n');
}

/** This thread's scheduler counters: run-queue wait so far (ms) and timeslices run (each return to a CPU). */
export interface SchedReading {
  waitMs: number;
  slices: number;
}

/** Where the sampler reads them (tests: a scripted kernel). */
export interface SchedSource {
  read(): SchedReading;
  close(): void;
}

export interface EventLoopStallsOptions {
  /** Wall clock, ms (default performance.now). */
  now?: () => number;
  /** Opens this thread's counters; null where there are none (default: Linux's schedstat). */
  sched?: () => SchedSource | null;
}

/** Reads after the first when a timeslice began between two: more is a thread preempted every few µs. */
const MAX_REREADS = 3;

/**
 * The wall time and the run-queue wait as of one instant. The kernel adds a wait to run_delay when
 * the thread gets a CPU back, so a preemption between reading the clock and reading schedstat put
 * the wait in this reading and its time in the next gap: the next turn counted it as held (a
 * thread kept off its CPU for 0.9 s just after reading the clock showed 0.9 s held). So:
 * schedstat, the clock, schedstat again; the same timeslice count on both sides of the clock means
 * no wait ended in between, else the pair is read again (bounded).
 */
function sample(sched: SchedSource, now: () => number): { wall: number; waited: number } {
  let before = sched.read();
  for (let i = 0; ; i++) {
    const wall = now();
    const after = sched.read();
    if (after.slices === before.slices || i === MAX_REREADS) return { wall, waited: after.waitMs };
    before = after;
  }
}

export class EventLoopStalls {
  readonly blocked = new BucketHistogram(STALL_BUCKETS);
  readonly delay = new BucketHistogram(STALL_BUCKETS);
  readonly #now: () => number;
  readonly #openSched: () => SchedSource | null;
  #timer: NodeJS.Timeout | null = null;
  #sched: SchedSource | null = null;

  constructor(opts: EventLoopStallsOptions = {}) {
    this.#now = opts.now ?? (() => performance.now());
    this.#openSched = opts.sched ?? (() => SchedStat.open());
  }

  start(): this {
    if (this.#timer) return this;
    this.#sched = this.#openSched();
    const sched = this.#sched;
    const now = this.#now;
    let { wall, waited } = sched ? sample(sched, now) : { wall: now(), waited: 0 };
    let cpu = threadCpuMs();
    // Unref'd: the sampler never keeps a process alive.
    this.#timer = setInterval(() => {
      const s = sched ? sample(sched, now) : null;
      const w = s?.wall ?? now();
      const gap = w - wall;
      this.delay.observe(Math.max(0, gap - INTERVAL_MS) / 1000);
      if (s) {
        this.blocked.observe(Math.max(0, gap - (s.waited - waited)) / 1000);
        waited = s.waited;
      } else {
        const c = threadCpuMs();
        this.blocked.observe(Math.min(gap, c - cpu) / 1000);
        cpu = c;
      }
      wall = w;
    }, INTERVAL_MS).unref();
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#sched?.close();
    this.#sched = null;
  }

  metrics(): string {
    return histogramText(this.blocked, 'meshlet_event_loop_blocked_seconds', `Time between two turns of a ${INTERVAL_MS} ms timer on the serving thread, less the time it waited for a CPU: how long a task held the event loop (machine load does not count).`)
      + histogramText(this.delay, 'meshlet_event_loop_delay_seconds', `How late a ${INTERVAL_MS} ms timer on the serving thread ran (blocking and CPU starvation alike).`);
  }
}

/** This thread's time spent runnable but waiting for a CPU, from Linux's schedstat (ns). */
class SchedStat implements SchedSource {
  readonly #fd: number;
  readonly #buf = Buffer.alloc(128);

  private constructor(fd: number) {
    this.#fd = fd;
  }

  static open(): SchedStat | null {
    try {
      const s = new SchedStat(openSync('/proc/thread-self/schedstat', 'r'));
      const r = s.read();
      return Number.isFinite(r.waitMs) && Number.isFinite(r.slices) ? s : null;
    } catch {
      return null; // not Linux, or no schedstat: the CPU-time estimate is used
    }
  }

  /** Fields: time on CPU, time waiting on a run queue, timeslices. One pread, no allocation of a file handle. */
  read(): SchedReading {
    const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
    const f = this.#buf.toString('latin1', 0, n).split(' ');
    return { waitMs: Number(f[1]) / 1e6, slices: Number(f[2]) };
  }

  close(): void {
    closeSync(this.#fd);
  }
}

function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}
