// Gives the V8 heap back to the system after a big data structure was replaced by a much smaller
// one (ADR 0016). V8 returns committed heap pages only from its memory reducer, which starts a
// memory-reducing GC only when the isolate allocates less than ~1 MB/s or is "backgrounded" (a
// browser notion Node never sets). A proxy serving even 50 requests/s allocates more than that,
// so after 10 000 routes were removed the serving thread kept ~200 MB of committed heap (115 MB
// of it garbage) for as long as traffic flowed. Here, a quiet period after such a drop, one
// full memory-reducing GC (V8's "last resort" collection: the old table is dropped, pooled pages
// are released) is run on the calling thread, at most once per `minIntervalMs`. The pause is
// proportional to what is still alive, which is why only a drop to a quarter or less triggers
// it. Generic: the controller can use it for its own snapshots later.
import v8 from 'node:v8';
import vm from 'node:vm';

export interface HeapReclaimOptions {
  /** Wait this long after the last drop before collecting: a burst of edits costs one GC. */
  quietMs?: number;
  /** Never two collections closer than this. */
  minIntervalMs?: number;
  /** A previous size below this is not worth a GC (sizes are the caller's unit, e.g. routes). */
  minSize?: number;
  /** The collector (tests); default: V8's full memory-reducing GC on this thread. */
  collect?: () => void;
  log?: (msg: string) => void;
}

export interface HeapReclaimStats {
  /** Collections run. */
  runs: number;
  /** Their total pause on the calling thread, in seconds. */
  pauseSeconds: number;
}

/** Defaults (ADR 0016's figures): 5 s quiet, 60 s apart, tables of 1 000 services and backends. */
export const RECLAIM_QUIET_MS = 5_000;
export const RECLAIM_MIN_INTERVAL_MS = 60_000;
export const RECLAIM_MIN_SIZE = 1_000;

let fullGc: ((opts: object) => void) | null = null;

/**
 * V8's full GC in "last resort" flavour (CollectAllAvailableGarbage: memory-reducing mark-compacts
 * until nothing more is freed, pooled pages released). `--expose-gc` is set only now, so a
 * process that never drops a big table never has it; the function lives in a fresh context and
 * is never visible to the application's globals.
 */
export function memoryReducingGc(): void {
  if (!fullGc) {
    v8.setFlagsFromString('--expose-gc');
    fullGc = vm.runInNewContext('gc') as (opts: object) => void;
  }
  fullGc({ type: 'major', flavor: 'last-resort' });
}

export class HeapReclaimer {
  readonly #quietMs: number;
  readonly #minIntervalMs: number;
  readonly #minSize: number;
  readonly #collect: () => void;
  #log: ((msg: string) => void) | undefined;
  #timer: NodeJS.Timeout | null = null;
  #lastRun = -Infinity;
  #runs = 0;
  #pauseMs = 0;

  constructor(opts: HeapReclaimOptions = {}) {
    this.#quietMs = opts.quietMs ?? RECLAIM_QUIET_MS;
    this.#minIntervalMs = opts.minIntervalMs ?? RECLAIM_MIN_INTERVAL_MS;
    this.#minSize = opts.minSize ?? RECLAIM_MIN_SIZE;
    this.#collect = opts.collect ?? memoryReducingGc;
    this.#log = opts.log;
  }

  get stats(): HeapReclaimStats {
    return { runs: this.#runs, pauseSeconds: this.#pauseMs / 1000 };
  }

  /**
   * A structure of `previous` size was replaced by one of `next`. A drop of three quarters or
   * more from at least `minSize` schedules a collection after the quiet period (pushed back by a
   * later drop); anything else that is big cancels a pending one, since the live set, and so the
   * pause, is large again and V8's own GC will run as that structure is used. `log` (if given)
   * replaces the one the collection reports to.
   */
  noteSwap(previous: number, next: number, log?: (msg: string) => void): void {
    if (log) this.#log = log;
    if (previous >= this.#minSize && next * 4 <= previous) this.#schedule();
    else if (next >= this.#minSize) this.cancel();
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    this.cancel();
    const now = performance.now();
    const at = Math.max(now + this.#quietMs, this.#lastRun + this.#minIntervalMs);
    // Unref'd: a pending collection never keeps a process that is shutting down alive.
    this.#timer = setTimeout(() => this.#run(), at - now).unref();
  }

  #run(): void {
    this.#timer = null;
    const before = process.memoryUsage();
    const t0 = performance.now();
    try {
      this.#collect();
    } catch (err) {
      this.#log?.(`heap reclaim failed: ${(err as Error).message}`);
      return;
    } finally {
      this.#lastRun = performance.now();
    }
    const ms = this.#lastRun - t0;
    this.#runs++;
    this.#pauseMs += ms;
    const after = process.memoryUsage();
    const mb = (n: number): number => Math.round(n / 2 ** 20);
    this.#log?.(`heap reclaimed after a large table was dropped: heap ${mb(before.heapTotal)} -> ${mb(after.heapTotal)} MB, RSS ${mb(before.rss)} -> ${mb(after.rss)} MB, ${Math.round(ms)} ms`);
  }
}

/** The process's reclaimer: GC is per thread, and one schedule per serving thread is the point. */
export const heapReclaimer = new HeapReclaimer();
