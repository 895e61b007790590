// Our own list-then-watch loop for one collection, replacing client-node's ListWatch where it
// falls short at scale. It asks for bookmarks (allowWatchBookmarks), so a quiet collection still
// learns the current resourceVersion; every re-watch resumes from the last version seen (event
// or bookmark) instead of relisting; it relists only when the server answers 410 Gone (history
// compacted), and then diffs the fresh list against its cache so only real changes are reported.
// A watch the server (or client-node's 30 s inactivity timer) ended after living a while is the
// normal rotation and is re-opened at once; one that ended as soon as it opened waits a jittered,
// growing delay so a misbehaving server or proxy is never hammered. Other failures are reported
// through onError and the loop stops; start() again resumes from the last version (the informer
// does that with its own backoff). Objects go through `transform` before they are cached, so
// fields nothing reads (managedFields) are never held.
import type { KubernetesObject, Watch } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { KubeList } from './kube-client.ts';
import { intern } from './intern.ts';

/** A watch open at least this long ended normally (the server's rotation, not a failure). */
export const HEALTHY_WATCH_MS = 1_000;

export interface WatchLoopOptions {
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  list: () => Promise<KubeList<KubernetesObject>>;
  watcher: Watch;
  transform?: (o: KubernetesObject) => KubernetesObject;
  onAdd: (o: KubernetesObject) => void;
  onUpdate: (o: KubernetesObject, old: KubernetesObject) => void;
  onDelete: (o: KubernetesObject) => void;
  /**
   * An update the caller folds into the object already cached (returns that object; undefined:
   * cache the new one): the informer keeps its object when the update is our own status write
   * (issue 14). A folded update is not reported through onUpdate.
   */
  fold?: (o: KubernetesObject, before: KubernetesObject) => KubernetesObject | undefined;
  /** A failure the loop did not recover from by itself; the loop has stopped. */
  onError: (err: unknown) => void;
  /** Delay before re-opening a watch that ended at once (default 1 s doubling up to 30 s, jittered). */
  quickEndBackoff?: BackoffOptions;
  /** Server-side watch timeout, randomised per watch as client-go does (default 5–10 min). */
  timeoutSeconds?: () => number;
  now?: () => number;
}

/** What the loop did, for tests and metrics: how often it listed, watched, saw bookmarks. */
export interface WatchLoopCounters {
  lists: number;
  watches: number;
  bookmarks: number;
  relistsOnGone: number;
}

export class WatchStatusError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
// Interned: one flat copy per key, shared with translation's Lookup keys (`namespace/name`), not a
// cons string per cached object (~30 000 of them at 10 000 routes, ADR 0019).
const keyOf = (o: KubernetesObject): string => intern(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);

export class WatchLoop {
  readonly counters: WatchLoopCounters = { lists: 0, watches: 0, bookmarks: 0, relistsOnGone: 0 };
  private readonly opts: WatchLoopOptions;
  private readonly cache = new Map<string, KubernetesObject>();
  private readonly quickEnds: Backoff;
  private rv: string | undefined;
  private abort: AbortController | undefined;
  /** Bumped by stop() and by each new watch: callbacks of an older one are ignored. */
  private generation = 0;
  private stopped = true;

  constructor(opts: WatchLoopOptions) {
    this.opts = opts;
    this.quickEnds = new Backoff({ initialMs: 1_000, maxMs: 30_000, ...opts.quickEndBackoff });
  }

  /** The version the next watch resumes from (the last event or bookmark seen). */
  get resourceVersion(): string | undefined {
    return this.rv;
  }

  list(): KubernetesObject[] {
    return [...this.cache.values()];
  }

  /** The cached object with `o`'s namespace and name. */
  cached(o: KubernetesObject): KubernetesObject | undefined {
    return this.cache.get(keyOf(o));
  }

  /** Caches `o` in place of the object of its name (the informer folding an update late). */
  replace(o: KubernetesObject): void {
    const k = keyOf(o);
    if (this.cache.has(k)) this.cache.set(k, o);
  }

  /** Lists (only the first time, or after 410) and opens the watch; rejects if either fails. */
  async start(): Promise<void> {
    this.stopped = false;
    const gen = ++this.generation;
    if (this.rv === undefined) await this.relist();
    if (gen !== this.generation) return;
    await this.watch(true);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.abort?.abort();
    this.abort = undefined;
  }

  private async relist(): Promise<void> {
    const list = await this.opts.list();
    this.counters.lists++;
    const fresh = new Map<string, KubernetesObject>();
    for (const item of list.items) {
      const o = this.opts.transform ? this.opts.transform(item) : item;
      const k = keyOf(o);
      const before = this.cache.get(k);
      // Unchanged objects stay the same objects (translation tells changes by identity), and an
      // update of ours is folded as it would be from the watch.
      if (before && before.metadata?.resourceVersion === o.metadata?.resourceVersion) fresh.set(k, before);
      else fresh.set(k, (before && this.opts.fold?.(o, before)) || o);
    }
    const old = new Map(this.cache);
    this.cache.clear();
    for (const [k, o] of fresh) this.cache.set(k, o);
    this.rv = list.metadata?.resourceVersion;
    for (const [k, o] of old) if (!fresh.has(k)) this.opts.onDelete(o);
    for (const [k, o] of fresh) {
      const before = old.get(k);
      if (!before) this.opts.onAdd(o);
      else if (before !== o) this.opts.onUpdate(o, before);
    }
  }

  /** Opens one watch from this.rv. With `opening`, a failure to open rejects instead of onError. */
  private async watch(opening: boolean): Promise<void> {
    const gen = ++this.generation;
    const now = this.opts.now ?? Date.now;
    const openedAt = now();
    let gone = false;
    let streamError: WatchStatusError | undefined;
    let openError: unknown;
    let open = true;
    const query = {
      allowWatchBookmarks: true,
      resourceVersion: this.rv,
      fieldSelector: this.opts.fieldSelector,
      labelSelector: this.opts.labelSelector,
      timeoutSeconds: (this.opts.timeoutSeconds ?? (() => Math.round(300 + Math.random() * 300)))(),
    };
    this.counters.watches++;
    const controller = await this.opts.watcher.watch(this.opts.path, query, (type: string, obj: KubernetesObject) => {
      if (gen !== this.generation) return;
      this.event(type, obj, (code, message) => {
        if (code === 410) gone = true;
        else streamError = new WatchStatusError(code, message);
      });
    }, (err: unknown) => {
      if (gen !== this.generation) return;
      if (open && opening && err) {
        openError = err;
        return;
      }
      void this.ended(err, gone, streamError, now() - openedAt);
    });
    open = false;
    if (gen !== this.generation) {
      controller.abort();
      return;
    }
    this.abort = controller;
    if (openError !== undefined) {
      if ((openError as { statusCode?: number }).statusCode === 410) {
        this.rv = undefined;
        await this.start();
        return;
      }
      throw asError(openError);
    }
  }

  private event(type: string, obj: KubernetesObject, status: (code: number, message: string) => void): void {
    if (type === 'ERROR') {
      const s = obj as { code?: number; message?: string };
      status(s.code ?? 500, s.message ?? 'watch error');
      return;
    }
    const rv = obj.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      this.counters.bookmarks++;
      if (rv) this.rv = rv;
      return;
    }
    const o = this.opts.transform ? this.opts.transform(obj) : obj;
    const k = keyOf(o);
    const before = this.cache.get(k);
    if (type === 'DELETED') {
      this.cache.delete(k);
      if (rv) this.rv = rv;
      this.opts.onDelete(before ?? o);
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') return;
    const kept = (before && this.opts.fold?.(o, before)) || o;
    this.cache.set(k, kept);
    if (rv) this.rv = rv;
    if (!before) this.opts.onAdd(o);
    else if (kept !== before) this.opts.onUpdate(o, before);
  }

  private async ended(err: unknown, gone: boolean, streamError: WatchStatusError | undefined, livedMs: number): Promise<void> {
    if (this.stopped) return;
    const gen = this.generation;
    try {
      if (gone || (err as { statusCode?: number } | null)?.statusCode === 410) {
        // History no longer reaches our version: the only way back is a fresh list.
        this.counters.relistsOnGone++;
        this.rv = undefined;
        await this.relist();
      } else if (streamError) {
        throw streamError;
      } else if (err && (err as { name?: string }).name !== 'TimeoutError') {
        throw asError(err);
      } else if (err || livedMs >= HEALTHY_WATCH_MS) {
        // A clean end after a while, or client-node's inactivity timer on a quiet watch: rotation.
        this.quickEnds.reset();
      } else {
        await sleep(this.quickEnds.next());
      }
      if (gen !== this.generation || this.stopped) return;
      await this.watch(false);
    } catch (e) {
      if (gen !== this.generation || this.stopped) return;
      this.stop();
      this.opts.onError(e);
    }
  }
}
