// Watches a manifest tree with one plain (non-recursive) fs.watch per directory. Node's
// `recursive: true` on Linux is a JavaScript emulation (lib/internal/fs/recursive_watch.js) that
// watches every file's inode on its own and, when a directory event comes, only looks for names
// it has not seen: after a file is replaced by a rename (write a temporary file, rename it over
// the manifest: what editors, `kubectl`-style tools and the benchmark do) the new inode is never
// watched and the directory's events are swallowed, so every later edit waited for the 1 s
// fingerprint poll (measured: ~600 ms median at 10 routes). A directory's own inotify watch
// reports creates, renames, writes and deletes of its entries, whatever replaced them.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** 'rename': an entry appeared, went or was moved into place; 'change': written in place. */
export type TreeEvent = 'rename' | 'change';

export interface TreeWatch {
  /** Watches directories created since the last call and forgets removed ones. */
  sync(): Promise<void>;
  close(): void;
}

/** Directories under `root` (itself included), skipping hidden ones as the manifest listing does. */
async function directoriesUnder(root: string): Promise<string[]> {
  const out = [root];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isDirectory() && !e.name.startsWith('.')) out.push(...(await directoriesUnder(join(root, e.name))));
  }
  return out;
}

/**
 * Calls `onEvent(kind, file)` for every event under `root` (a directory, or one manifest file:
 * then its directory is watched and only that name reported). `file` is a full path, or null
 * when the platform did not name it. Handles never keep the process alive.
 */
export function watchTree(root: string, onEvent: (kind: TreeEvent, file: string | null) => void, onError: (err: Error) => void): TreeWatch {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;
  let single: string | null = null;

  const add = (dir: string): void => {
    if (closed || watchers.has(dir)) return;
    try {
      const w = watch(dir, { persistent: false }, (kind, name) => {
        const file = name === null ? null : join(dir, name.toString());
        if (single !== null && file !== null && file !== single) return;
        onEvent(kind === 'change' ? 'change' : 'rename', file);
      });
      w.on('error', (err) => {
        // A removed directory errors on some platforms: forget it; the next sync re-adds it if it comes back.
        w.close();
        watchers.delete(dir);
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EPERM') onError(err);
      });
      watchers.set(dir, w);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err as Error);
    }
  };

  const sync = async (): Promise<void> => {
    if (closed) return;
    const info = await stat(root).catch(() => null);
    if (info?.isFile()) {
      single = root;
      add(dirname(root));
      return;
    }
    single = null;
    const dirs = info ? new Set(await directoriesUnder(root)) : new Set<string>();
    for (const [dir, w] of watchers) {
      if (!dirs.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) add(dir);
  };

  return {
    sync,
    close(): void {
      closed = true;
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
