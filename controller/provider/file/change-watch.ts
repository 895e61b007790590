// The cheap half of watching a manifest directory: its fingerprint (names, sizes, mtimes) and a
// watch that fires once at the first change, reading no manifest. File mode's serving thread
// uses it while its translation worker is stopped; it is kept apart from watch-manifests.ts,
// which reads the manifests (the YAML parser), so that thread never loads the parser (ADR 0012).
import { stat } from 'node:fs/promises';
import { watchTree } from './directory-watch.ts';
import { listManifestFiles } from './manifest-files.ts';

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

/** One manifest as the fingerprint sees it (null size and mtime: gone between listing and stat). */
export interface ManifestStat {
  file: string;
  size: number | null;
  mtimeMs: number | null;
}

/** Sizes and modification times of the directory's manifests, in listing order. */
export async function manifestStats(path: string): Promise<ManifestStat[]> {
  const files = await listManifestFiles(path);
  return Promise.all(files.map(async (file) => {
    const s = await stat(file).catch(() => null);
    return { file, size: s?.size ?? null, mtimeMs: s?.mtimeMs ?? null };
  }));
}

/** The fingerprint of stats: equal prints mean nothing to re-read. */
export function printOf(stats: ManifestStat[]): string {
  return stats.map((s) => (s.size === null ? `${s.file}:gone` : `${s.file}:${s.size}:${s.mtimeMs}`)).join('|');
}

/** Names, sizes and mtimes of the directory's manifests: equal prints mean nothing to re-read. */
export async function manifestFingerprint(path: string): Promise<string> {
  return printOf(await manifestStats(path));
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
  const tree = watchTree(path, fire, onError);
  const poll = setInterval(check, pollMs > 0 ? pollMs : 1000);
  poll.unref();
  // A change between the fingerprint and the watch's start is caught here rather than a poll later.
  void tree.sync().then(check);
  const handle: ManifestWatcher = {
    close(): void {
      closed = true;
      clearInterval(poll);
      tree.close();
    },
  };
  return handle;
}
