// Watches a manifest directory and re-reads it after changes settle. fs.watch events come in
// bursts (an editor's save is often delete + create + write), so changes are debounced and the
// whole directory is re-read: a full read keeps the result exactly what a fresh start would see,
// and the ManifestCache makes it cheap (only documents whose text changed are parsed again). A
// periodic fingerprint check backs the watch up, because inotify misses changes on some
// filesystems (bind mounts, network file systems, atomic renames of a watched directory).
//
// A file written in place can be read half-written: a writer that truncates it, or writes it in
// two parts, leaves a shorter file that may still parse, with objects missing, and applying it
// withdraws their routes (404s) until the next read. So a changed file that was written in place
// is read only once it is stable: its modification time is `stableMs` old, or the same size and
// time were seen `stableMs` ago. A file moved into place (written elsewhere, then renamed over the
// manifest: editors' and tools' atomic save) is complete when it appears and is read at once.
// A manifest that disappears is withdrawn only once it has stayed away `stableMs`: a save that
// deletes the file and creates it again must not withdraw its routes in between.
import { manifestStats, printOf, type ManifestStat, type ManifestWatcher, type WatchOptions } from './change-watch.ts';
import { watchTree, type TreeEvent } from './directory-watch.ts';
import { ManifestCache } from './manifest-cache.ts';
import { readManifests, type ReadResult } from './read-manifests.ts';

export { manifestFingerprint, watchForChange, type ManifestWatcher, type WatchOptions } from './change-watch.ts';

export interface ManifestWatchOptions extends WatchOptions {
  /** How long a file written in place must stay unchanged, or a removed one away, before it is read (default 200 ms). */
  stableMs?: number;
  /** Wall clock in ms, compared with files' mtimes (tests). */
  now?: () => number;
  /**
   * Manifests totalling this many bytes or more are not read: `onTooBig` is called instead (the
   * serving thread's small-directory loop hands such a directory to a worker before parsing it).
   */
  maxBytes?: number;
  onTooBig?: () => void;
}

/**
 * Calls `onChange` with the initial read, then after every settled change; `print` is the
 * directory's fingerprint taken just before that read (see watchForChange).
 */
export function watchManifests(path: string, onChange: (result: ReadResult, print: string) => void, options: ManifestWatchOptions = {}): ManifestWatcher {
  // 10 ms: folds the events of one save (write + rename, or delete + create, land within a few
  // ms); a half-written or briefly missing file is held back by the stability rule below, not by
  // this wait, which every change pays (the benchmark's target is 100 ms p99 end to end).
  const debounceMs = options.debounceMs ?? 10;
  const pollMs = options.pollMs ?? 1000;
  // 200 ms: a writer's pause between two writes of one file is microseconds to a few ms even on
  // a loaded machine; an interactive edit's save is not slowed enough to notice.
  const stableMs = options.stableMs ?? 200;
  const now = options.now ?? Date.now;
  const onError = options.onError ?? ((err: Error) => process.stderr.write(`meshlet: watching ${path}: ${err.message}\n`));
  const cache = new ManifestCache();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let lastPrint = '';
  let first = true;
  /** Each manifest's stat at the last read. */
  let applied = new Map<string, ManifestStat>();
  /** The last event per file since the last read ('rename' = moved into place whole, or gone), and when. */
  const events = new Map<string, { kind: TreeEvent; at: number }>();
  /** Changed files waiting to be stable: the stat first seen and when. */
  const waiting = new Map<string, { stat: ManifestStat; since: number }>();

  /** Milliseconds until every changed, written-in-place file is stable (0: read now). */
  const unstableFor = (stats: ManifestStat[]): number => {
    let wait = 0;
    const t = now();
    for (const s of stats) {
      const before = applied.get(s.file);
      const same = (a: ManifestStat | undefined): boolean => a !== undefined && a.size === s.size && a.mtimeMs === s.mtimeMs;
      if (same(before) || s.mtimeMs === null || events.get(s.file)?.kind === 'rename') {
        waiting.delete(s.file);
        continue;
      }
      const seen = waiting.get(s.file);
      const since = seen && same(seen.stat) ? seen.since : t;
      if (!seen || !same(seen.stat)) waiting.set(s.file, { stat: s, since });
      // Either measure of quiet will do: the mtime's age (a clock set back, or a file from an
      // archive dated in the future, cannot hold it forever: the second one is ours).
      const quiet = Math.max(t - s.mtimeMs, t - since);
      if (quiet < stableMs) wait = Math.max(wait, stableMs - quiet);
    }
    // Gone since the last read: withdrawn once it has been away stableMs (an event says when it
    // went; one only the poll saw is withdrawn at once).
    const present = new Set(stats.map((s) => s.file));
    for (const file of applied.keys()) {
      const gone = events.get(file);
      if (!present.has(file) && gone && t - gone.at < stableMs) wait = Math.max(wait, stableMs - (t - gone.at));
    }
    return wait;
  };

  const reload = async (): Promise<void> => {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        await tree.sync();
        const stats = await manifestStats(path);
        const wait = first ? 0 : unstableFor(stats);
        if (wait > 0) {
          if (!closed) schedule(wait);
          return;
        }
        first = false;
        events.clear();
        waiting.clear();
        const print = printOf(stats);
        if (options.maxBytes !== undefined && stats.reduce((n, st) => n + (st.size ?? 0), 0) >= options.maxBytes) {
          closed = true;
          options.onTooBig?.();
          return;
        }
        const result = await readManifests(path, cache);
        lastPrint = print;
        applied = new Map(stats.map((s) => [s.file, s]));
        if (!closed) onChange(result, print);
      } while (again && !closed);
    } catch (err) {
      onError(err as Error);
    } finally {
      running = false;
    }
  };
  function schedule(ms = debounceMs): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), ms);
  }

  const tree = watchTree(path, (kind, file) => {
    if (file !== null) events.set(file, { kind, at: now() });
    schedule();
  }, onError);
  const poll = pollMs > 0 ? setInterval(() => {
    manifestStats(path).then((s) => { if (printOf(s) !== lastPrint) schedule(); }, (err: Error) => onError(err));
  }, pollMs) : undefined;
  poll?.unref();
  void reload();

  return {
    close(): void {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      tree.close();
    },
  };
}
