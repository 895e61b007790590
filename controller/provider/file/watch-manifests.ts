// Watches a manifest directory and re-reads it after changes settle. fs.watch events come in
// bursts (an editor's save is often delete + create + write), so changes are debounced and the
// whole directory is re-read: manifests are small and a full read keeps the result exactly what
// a fresh start would see. A periodic fingerprint check backs fs.watch up, because inotify
// misses changes on some filesystems (bind mounts, network file systems, atomic renames of a
// watched directory).
import { watch, type FSWatcher } from 'node:fs';
import { manifestFingerprint, type ManifestWatcher, type WatchOptions } from './change-watch.ts';
import { readManifests, type ReadResult } from './read-manifests.ts';

export { manifestFingerprint, watchForChange, type ManifestWatcher, type WatchOptions } from './change-watch.ts';

/**
 * Calls `onChange` with the initial read, then after every settled change; `print` is the
 * directory's fingerprint taken just before that read (see watchForChange).
 */
export function watchManifests(path: string, onChange: (result: ReadResult, print: string) => void, options: WatchOptions = {}): ManifestWatcher {
  // 25 ms: long enough to fold an editor's save (write + rename land within a few ms), short
  // enough not to dominate propagation (the benchmark's target is 100 ms p99 end to end).
  const debounceMs = options.debounceMs ?? 25;
  const pollMs = options.pollMs ?? 1000;
  const onError = options.onError ?? ((err: Error) => process.stderr.write(`meshlet: watching ${path}: ${err.message}\n`));
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let lastPrint = '';

  const reload = async (): Promise<void> => {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        const print = await manifestFingerprint(path);
        const result = await readManifests(path);
        lastPrint = print;
        if (!closed) onChange(result, print);
      } while (again && !closed);
    } catch (err) {
      onError(err as Error);
    } finally {
      running = false;
    }
  };
  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, { recursive: true, persistent: false }, schedule);
    watcher.on('error', (err) => onError(err));
  } catch (err) {
    onError(err as Error);
  }
  const poll = pollMs > 0 ? setInterval(() => {
    manifestFingerprint(path).then((p) => { if (p !== lastPrint) schedule(); }, (err: Error) => onError(err));
  }, pollMs) : undefined;
  poll?.unref();
  void reload();

  return {
    close(): void {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    },
  };
}
