// Gives the controller's garbage back to the system when it goes idle (ADR 0011, 2026-12-06
// memory section). The controller's live set at 10 000 routes is ~190 MB of heap, but its RSS
// after the initial sync or a burst of agent connections was 0.5-1.7 GB: translation, slicing and
// status writes allocate far faster than V8's memory reducer tolerates (it only shrinks the heap
// when the allocation rate is low, ADR 0016), and the old generation's limit, sized from the
// machine's memory, lets garbage pile up to gigabytes before a major GC. Here a periodic check
// (unref'd timer) runs one memory-reducing full GC — V8's "last resort" collection, as the
// agent's HeapReclaimer (common/heap-reclaim.ts) does after a big table swap — when three things
// hold: the heap committed has grown well past what the last collection left (at least
// `minGrowthBytes` and half again), the event loop has been nearly idle for a whole check
// interval (no translation, slicing or acks in flight, so the pause delays nobody), and the last
// collection is long enough ago: `minIntervalMs`, and ten times its pause, so collections never
// take more than a tenth of the controller's time. The pause is proportional to the live set
// (~0.2-0.5 s at 10 000 routes on a quiet machine, seconds on a loaded one), never to the
// garbage. On a machine so loaded that the loop never looks idle, the same collection runs
// anyway once the committed heap is `busyFactor` times what the last one left (and 256 MB
// more): a pause in the middle of work, but RSS stays bounded.
// A change must not wait behind the pause (issue 14: one route change waited 3.7 s): the
// collection is skipped while a change waits for its translation or its agents' acks (`pending`:
// the coalescer and the publisher say so), and the idle one
// runs only after `quietMs` without a change handled (`activity()`), so a series of changes a
// few seconds apart is never interrupted; it runs once they stop.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { memoryReducingGc } from '../../../common/heap-reclaim.ts';

export interface IdleHeapReclaimOptions {
  /** How often to look (default 2 s). */
  checkMs?: number;
  /** Event-loop utilisation over the last check interval below which the process is idle (default 0.25). */
  idleUtilization?: number;
  /** Never two collections closer than this (default 10 s), nor than `1 / maxPauseShare` times the last pause. */
  minIntervalMs?: number;
  /** Share of wall time collections may take (default 0.1). */
  maxPauseShare?: number;
  /** Collect even when busy once the committed heap is this many times the last baseline (default 4). */
  busyFactor?: number;
  /** Committed heap growth since the last collection that makes one worth it (default 64 MB). */
  minGrowthBytes?: number;
  /** No idle collection until this long after the last change handled (activity(); default 5 s). */
  quietMs?: number;
  /** A change is waiting to be translated or acknowledged by agents: no collection, busy or not (default: never). */
  pending?: () => boolean;
  /**
   * After a collection, give malloc's free pages back to the kernel (glibc's malloc_trim, through
   * agent/native, which only the composition root may import: cli/controller-command passes it).
   * V8's collection frees its own pages but not what Node and the TLS/zlib layers malloc'd and freed
   * during the initial sync or a connection storm (~10 MB at 10 000 routes, ADR 0019). Default: none.
   */
  releaseFree?: () => boolean;
  /** Tests: the committed heap, the event loop's utilisation since the last call, the collector. */
  heapCommitted?: () => number;
  utilization?: () => number;
  collect?: () => void;
  now?: () => number;
  log?: (line: string) => void;
}

function loopUtilization(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return u;
  };
}

export class IdleHeapReclaim {
  readonly #o: Required<Omit<IdleHeapReclaimOptions, 'log'>> & Pick<IdleHeapReclaimOptions, 'log'>;
  #timer: NodeJS.Timeout | undefined;
  #baseline: number;
  #lastRun = -Infinity;
  #lastPauseMs = 0;
  #lastActivity = -Infinity;
  runs = 0;
  pauseMs = 0;

  constructor(opts: IdleHeapReclaimOptions = {}) {
    this.#o = {
      checkMs: 2_000, quietMs: 5_000, pending: () => false, idleUtilization: 0.25, minIntervalMs: 10_000, maxPauseShare: 0.1, busyFactor: 4, minGrowthBytes: 64 * 2 ** 20,
      heapCommitted: () => process.memoryUsage().heapTotal, utilization: loopUtilization(), collect: memoryReducingGc, releaseFree: () => false,
      now: () => performance.now(), ...opts,
    };
    this.#baseline = this.#o.heapCommitted();
  }

  start(): this {
    this.#timer ??= setInterval(() => this.check(), this.#o.checkMs).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A change was handled (a snapshot translated): the idle collection waits `quietMs` from now. */
  activity(): void {
    this.#lastActivity = this.#o.now();
  }

  /** One look (the timer calls it; tests call it directly). True when it collected. */
  check(): boolean {
    const busy = this.#o.utilization() >= this.#o.idleUtilization || this.#o.now() - this.#lastActivity < this.#o.quietMs;
    const committed = this.#o.heapCommitted();
    const grown = committed - this.#baseline >= Math.max(this.#o.minGrowthBytes, this.#baseline / 2);
    const bloated = committed >= this.#baseline * this.#o.busyFactor && committed - this.#baseline >= 256 * 2 ** 20;
    const gap = Math.max(this.#o.minIntervalMs, this.#lastPauseMs / this.#o.maxPauseShare);
    if ((busy && !bloated) || !grown || this.#o.now() - this.#lastRun < gap || this.#o.pending()) return false;
    const t0 = this.#o.now();
    try {
      this.#o.collect();
    } catch (err) {
      this.#o.log?.(`heap reclaim failed: ${(err as Error).message}`);
      return false;
    } finally {
      this.#lastRun = this.#o.now();
    }
    const ms = this.#lastRun - t0;
    this.#lastPauseMs = ms;
    let trimmed = false;
    try {
      trimmed = this.#o.releaseFree();
    } catch (err) {
      this.#o.log?.(`heap reclaim: releasing malloc's free pages failed: ${(err as Error).message}`);
    }
    this.runs++;
    this.pauseMs += ms;
    this.#baseline = this.#o.heapCommitted();
    const mb = (n: number): number => Math.round(n / 2 ** 20);
    this.#o.log?.(`${busy ? 'busy' : 'idle'}: heap reclaimed, committed ${mb(committed)} -> ${mb(this.#baseline)} MB in ${Math.round(ms)} ms${trimmed ? ', malloc trimmed' : ''}`);
    return true;
  }
}
