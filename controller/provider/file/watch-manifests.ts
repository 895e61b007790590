// Watches a manifest directory and re-reads it after changes settle. fs.watch events come in
// bursts (an editor's save is often delete + create + write), so changes are debounced and the
// whole directory is re-read: manifests are small and a full read keeps the result exactly what
// a fresh start would see. A periodic fingerprint check backs fs.watch up, because inotify
// misses changes on some filesystems (bind mounts, network file systems, atomic renames of a
// watched directory).
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { listManifestFiles, readManifests, type ReadResult } from './read-manifests.ts';

export interface WatchOptions {
  /** Quiet period after the last event before re-reading. */
  debounceMs?: number;
  /** Fingerprint poll interval (0 disables polling). */
  pollMs?: number;
  onError?: (err: Error) => void;
}

export interface ManifestWatcher {
  close(): void;
}

/** Names, sizes and mtimes of the directory's manifests: equal prints mean nothing to re-read. */
export async function manifestFingerprint(path: string): Promise<string> {
  const files = await listManifestFiles(path);
  const parts = await Promise.all(files.map(async (f) => {
    const s = await stat(f).catch(() => null);
    return s ? `${f}:${s.size}:${s.mtimeMs}` : `${f}:gone`;
  }));
  return parts.join('|');
}

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

/**
 * Calls `onChange` once, at the first sign that the directory differs from fingerprint `since`
 * (an fs.watch event, or the poll seeing another fingerprint), without reading any manifest: the
 * cheap watch that stands in while file mode's translation worker is stopped. A difference
 * already there when it starts is reported at the first poll.
 */
export function watchForChange(path: string, since: string, onChange: () => void, options: WatchOptions = {}): ManifestWatcher {
  const pollMs = options.pollMs ?? 1000;
  const onError = options.onError ?? ((err: Error) => process.stderr.write(`meshlet: watching ${path}: ${err.message}\n`));
  let closed = false;
  const fire = (): void => {
    if (closed) return;
    handle.close();
    onChange();
  };
  const check = (): void => {
    manifestFingerprint(path).then((p) => { if (p !== since) fire(); }, (err: Error) => onError(err));
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, { recursive: true, persistent: false }, fire);
    watcher.on('error', (err) => onError(err));
  } catch (err) {
    onError(err as Error);
  }
  const poll = setInterval(check, pollMs > 0 ? pollMs : 1000);
  poll.unref();
  // A change between the fingerprint and the watch's start is caught here rather than a poll later.
  check();
  const handle: ManifestWatcher = {
    close(): void {
      closed = true;
      clearInterval(poll);
      watcher?.close();
    },
  };
  return handle;
}
