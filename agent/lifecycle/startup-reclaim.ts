// One memory-reducing GC once a proxy has settled after its start (issue 16, ADR 0012). Loading
// the modules, translating or decoding the first table and, with mTLS, building the CSR leave
// garbage in the old space and a young generation grown to 8-16 MB, and an idle isolate never
// runs the collection that would give them back (V8's memory reducer waits for a GC that idle
// never triggers, ADR 0016). By STARTUP_RECLAIM_MS the workers that go when idle are gone (the
// controller client's decoder after 30 s, file mode's translator after 10 s), and one collection
// then returns 8-10 MB of an agent's RSS for a pause of tens of ms (45-160 ms measured on the
// shared, loaded machine with 10 routes), once per process and never again.
import { memoryReducingGc } from '../../common/heap-reclaim.ts';

/** Default delay after the start: past the decoder's 30 s idle let-go. */
export const STARTUP_RECLAIM_MS = 40_000;
/**
 * Above this much used heap the collection is skipped: its pause grows with what is alive (a
 * table of thousands of routes), while what it gives back does not.
 */
export const STARTUP_RECLAIM_MAX_USED = 64 * 2 ** 20;

export interface StartupReclaimOptions {
  /** Default STARTUP_RECLAIM_MS; 0 turns it off. */
  delayMs?: number;
  /** The collector (tests); default V8's full memory-reducing GC on this thread. */
  collect?: () => void;
  /** Default STARTUP_RECLAIM_MAX_USED (bytes of used heap). */
  maxUsedBytes?: number;
  log?: (line: string) => void;
}

export interface StartupReclaim {
  /** Whether the collection has run. */
  readonly done: boolean;
  /** Drops a collection not yet run (the process is stopping). */
  cancel(): void;
}

const mb = (n: number): number => Math.round(n / 2 ** 20);

export function scheduleStartupReclaim(o: StartupReclaimOptions = {}): StartupReclaim {
  const delayMs = o.delayMs ?? STARTUP_RECLAIM_MS;
  let done = false;
  // Unref'd: it never keeps a stopping process alive.
  const timer = delayMs > 0 ? setTimeout(() => {
    const before = process.memoryUsage();
    if (before.heapUsed > (o.maxUsedBytes ?? STARTUP_RECLAIM_MAX_USED)) {
      done = true;
      o.log?.(`heap reclaim after start skipped: ${mb(before.heapUsed)} MB of heap in use`);
      return;
    }
    const t0 = performance.now();
    try {
      (o.collect ?? memoryReducingGc)();
    } catch (err) {
      o.log?.(`heap reclaim after start failed: ${(err as Error).message}`);
      return;
    } finally {
      done = true;
    }
    const ms = performance.now() - t0;
    const after = process.memoryUsage();
    o.log?.(`heap reclaimed after start: heap ${mb(before.heapTotal)} -> ${mb(after.heapTotal)} MB, RSS ${mb(before.rss)} -> ${mb(after.rss)} MB, ${Math.round(ms)} ms`);
  }, delayMs).unref() : null;
  return {
    get done() { return done; },
    cancel: () => { if (timer) clearTimeout(timer); },
  };
}
