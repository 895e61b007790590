// One memory-reducing GC once a proxy has settled after its start (issue 16, ADR 0012). Loading
// the modules, translating or decoding the first table and, with mTLS, building the CSR leave
// garbage in the old space and a young generation grown to 8-16 MB, and an idle isolate never
// runs the collection that would give them back (V8's memory reducer waits for a GC that idle
// never triggers, ADR 0016). By STARTUP_RECLAIM_MS the workers that go when idle are gone (the
// controller client's decoder after 30 s, file mode's translator after 10 s), and one collection
// then returns 8-10 MB of an agent's RSS for a pause of tens of ms (45-160 ms measured on the
// shared, loaded machine with 10 routes), once per process and never again. Then malloc's free
// pages go back to the kernel (glibc's malloc_trim through agent/native): what the start freed
// outside the V8 heap (the posted table's structured-clone buffers, the gone worker's compile
// zones) stays resident otherwise, ~20 MB in an agent that started with 10 000 routes.
import { memoryReducingGc } from '../../common/heap-reclaim.ts';
import { releaseFreeMemory } from '../native/index.ts';

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
  /**
   * Gives malloc's free pages back to the kernel, after the collection (or instead of it when it
   * is skipped: trimming costs no pause that grows with the table). Default releaseFreeMemory();
   * returns whether anything was given back.
   */
  trim?: () => boolean;
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
  const trim = (): string => {
    try {
      return (o.trim ?? releaseFreeMemory)() ? ', malloc trimmed' : '';
    } catch (err) {
      return `, malloc trim failed: ${(err as Error).message}`;
    }
  };
  // Unref'd: it never keeps a stopping process alive.
  const timer = delayMs > 0 ? setTimeout(() => {
    done = true;
    const before = process.memoryUsage();
    if (before.heapUsed > (o.maxUsedBytes ?? STARTUP_RECLAIM_MAX_USED)) {
      const trimmed = trim();
      o.log?.(`heap reclaim after start skipped: ${mb(before.heapUsed)} MB of heap in use${trimmed}`);
      return;
    }
    const t0 = performance.now();
    try {
      (o.collect ?? memoryReducingGc)();
    } catch (err) {
      o.log?.(`heap reclaim after start failed: ${(err as Error).message}${trim()}`);
      return;
    }
    const trimmed = trim();
    const ms = performance.now() - t0;
    const after = process.memoryUsage();
    o.log?.(`heap reclaimed after start: heap ${mb(before.heapTotal)} -> ${mb(after.heapTotal)} MB, RSS ${mb(before.rss)} -> ${mb(after.rss)} MB${trimmed}, ${Math.round(ms)} ms`);
  }, delayMs).unref() : null;
  return {
    get done() { return done; },
    cancel: () => { if (timer) clearTimeout(timer); },
  };
}
