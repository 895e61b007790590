// File mode: a manifest directory, translated off the serving thread, as the agent's table
// source. A worker (file-source-worker.ts) watches the directory, re-reads it after every settled
// change, translates and validates it; this side only parses the table it posts and pushes it,
// so a 10 MB manifest or 10 000 routes never stall requests (issue 15). The agent swaps tables
// atomically. Broken documents and routes that are not accepted are logged with their file and
// reason, and the valid rest still applies. What the worker costs depends on the table (ADR 0012):
// a small directory (under IN_PROCESS_BELOW_BYTES) is translated on this thread by the same loop;
// with a larger one still under `keepWarmBelowBytes` of JSON (~4 000 simple routes) it is kept, so the
// first edit after a quiet period is incremental, and once idle for `recycleIdleMs` it shrinks its
// heap to what it holds for that; a big table's worker (a V8 isolate of 100-240 MB after 10 000
// routes) is terminated, and a cheap fingerprint watch on this thread starts a fresh one at the
// next change. The start's big table stops it at once and is followed by one memory-reducing GC
// here (the garbage of assembling and compiling the table); a later one waits `recycleIdleMs`, as
// stopping a big isolate and collecting while traffic flows delayed requests by seconds on a
// loaded machine (ADR 0012).
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { MessageChannel, Worker } from 'node:worker_threads';
import { gzip as gzipCallback } from 'node:zlib';
import type { RoutingTable } from '../../../api/routing-table.ts';
import { ManualTableSource } from '../../../api/table-source.ts';
import { markValidated } from '../../../api/validated-tables.ts';
import { memoryReducingGc } from '../../../common/heap-reclaim.ts';
import type { FileSourceMessage, FileSourceWorkerData, runFileSource as RunFileSource, TableParts, ToFileSourceWorker } from './file-source-worker.ts';
import type { FileTranslatorOptions, TranslatorResume } from './file-translator.ts';
// Only the light modules: the YAML parser and the translator are the worker's (ADR 0012).
import { manifestFingerprint, watchForChange, type ManifestWatcher } from './change-watch.ts';
import { listManifestFiles } from './manifest-files.ts';
import { TablePartsDecoder } from './table-parts.ts';

export { unhealthyConditions } from './unhealthy-conditions.ts';

const gzip = promisify(gzipCallback);

/**
 * Tables whose JSON is at least this long stop their worker once applied (~490 bytes per route of
 * one path and one header match: ~4 000 such routes). Below it the worker stays warm: at 1 000
 * such routes it holds ~15 MB once shrunk (ADR 0012), against a cold start and a full parse
 * (0.8-1.2 s) at the first edit after a quiet period.
 */
export const KEEP_WARM_BELOW_BYTES = 2 * 2 ** 20;
/**
 * A directory whose files total less than this at the start, or a table whose JSON is shorter
 * once idle, is translated on this thread (a few ms for ~130 routes) by the same loop the worker
 * runs: a warm worker is a second V8 isolate, 9-13 MB of a 10-route agent's settled RSS of 83-85
 * MB (ADR 0012). A table that grows past it goes back to a worker.
 */
export const IN_PROCESS_BELOW_BYTES = 64 * 1024;

/** Total size of the files under dir (Infinity when it cannot be read: the worker reports why). */
function directoryBytes(dir: string): number {
  try {
    let n = 0;
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) if (e.isFile()) n += statSync(`${e.parentPath}/${e.name}`).size;
    return n;
  } catch {
    return Infinity;
  }
}
/** How long a worker being recycled may take to drop its state before it is terminated as it is. */
const STOP_WAIT_MS = 5_000;
/** Memory-reducing GCs after a big table, on the serving thread, at least this far apart. */
const BIG_RECLAIM_INTERVAL_MS = 60_000;

export interface FileTableSourceOptions extends FileTranslatorOptions {
  log?: (line: string) => void;
  /**
   * After this long without a change once a read with no broken file is applied, a worker with
   * a small table shrinks its heap (one memory-reducing GC on its own thread) and stays (0: the
   * worker is kept as it is for the process, whatever the table's size). A broken file keeps the
   * worker as it is, holding that file's last good content. Default 10 s: the worker's garbage is
   * gone within seconds of an edit session's end.
   */
  recycleIdleMs?: number;
  /**
   * Tables whose JSON is at least this long stop the worker: at once for the start's table, after
   * `recycleIdleMs` for a later one (a fresh worker starts at the next change: a cold start,
   * 0.3-0.5 s on a busy machine with its modules from the compile cache, and a full parse of the
   * directory). Default KEEP_WARM_BELOW_BYTES; 0: every table does.
   */
  keepWarmBelowBytes?: number;
  /**
   * Directories whose files total less than this at the start, and tables whose JSON is shorter
   * once idle, are translated on this thread (no worker). Default IN_PROCESS_BELOW_BYTES; 0: never.
   */
  inProcessBelowBytes?: number;
}

export class FileTableSource {
  readonly #opts: FileTableSourceOptions;
  readonly #tables = new ManualTableSource();
  #worker: Worker | null = null;
  #closed = false;
  /** Rejects pending ready() calls when the worker dies before the first table. */
  readonly #failures = new Set<(err: Error) => void>();
  #restartMs = 1_000;
  /**
   * Tables posted and not yet taken to be assembled: at most one, as the loop posts the next
   * only once this one is taken (`taken`). Only the newest is applied, but each is decoded, as
   * the next may refer to its rules (table-parts.ts).
   */
  #queue: { parts: TableParts; valid: boolean }[] = [];
  /** Puts back the rules the worker did not send again (table-parts.ts). */
  readonly #decoder = new TablePartsDecoder();
  #assembling = false;
  /** Armed by a clean 'settled' message; any other message from the worker disarms it. */
  #idleTimer: NodeJS.Timeout | undefined;
  /** While the worker is stopped: watches for the change that starts the next one. */
  #changeWatch: ManifestWatcher | null = null;
  /** Where the last worker left off, for the next one (see TranslatorResume). */
  #resume: TranslatorResume | undefined;
  /** Counts messages from the worker: one arriving while #recycle awaits cancels that recycle. */
  #messages = 0;
  /** Workers started so far (the first, restarts after failures, and after recycling). */
  #started = 0;
  /** The process's uid when the first worker started (see #recycle). */
  #uid: number | undefined;
  /** The JSON length of the last table the worker posted (see keepWarmBelowBytes). */
  #tableBytes = 0;
  /** Tables the loop translated and never sent, replaced while they waited for `taken` (see supersededTables). */
  #superseded = 0;
  /** When this thread last ran a memory-reducing GC after a big table (performance.now()). */
  #lastReclaim = -Infinity;
  /** Whether a read has settled yet: the first one is the start's (see #onMessage). */
  #settledOnce = false;
  /** Whether the loop runs on this thread now (a small table, see IN_PROCESS_BELOW_BYTES). */
  #inProcess = false;
  /**
   * Set once the loop on this thread gave up (its table came out big although the files are
   * small, or it failed): start() then always starts a worker. Without it, start() saw small
   * files again and began the same loop here, which gave up again, for ever, on the serving
   * thread (review: 1 400 restarts in 3 s).
   */
  #leftThisThread = false;
  /**
   * Settles once the start's big table has let its worker go and this thread has collected, or
   * a small table's worker has rehearsed an edit (or once it is clear neither will happen):
   * ready() waits for it, so that work falls before the agent serves, not on its first requests
   * or its first edit.
   */
  readonly #startCleanup = Promise.withResolvers<void>();

  constructor(opts: FileTableSourceOptions) {
    this.#opts = opts;
  }

  get current(): RoutingTable | null {
    return this.#tables.current;
  }

  /** Whether a translation worker is running now (false while recycled), and how many were started. */
  get worker(): { running: boolean; started: number; inProcess: boolean } {
    return { running: this.#worker !== null && !this.#inProcess, started: this.#started, inProcess: this.#inProcess };
  }

  /** Tables received and not yet taken to be assembled (tests: at most 1, see `taken`). */
  get pendingTables(): number {
    return this.#queue.length;
  }

  /**
   * Tables the translation loop made and never sent here, because a newer one replaced each while
   * it waited for this thread to take the last one (edits faster than this thread takes tables).
   * Counted over the source's life, across workers: a test's proof that edits piled up.
   */
  get supersededTables(): number {
    return this.#superseded;
  }

  get #inProcessBelow(): number {
    return this.#opts.inProcessBelowBytes ?? IN_PROCESS_BELOW_BYTES;
  }

  start(): this {
    if (this.#worker || this.#closed) return this;
    // A small directory is translated here from the start: a worker that ran even 10 s leaves
    // ~5 MB in glibc's arenas after it is gone (ADR 0012).
    if (this.#started === 0 && !this.#inProcess && !this.#leftThisThread && (this.#opts.recycleIdleMs ?? 10_000) > 0 && directoryBytes(this.#opts.dir) < this.#inProcessBelow) {
      this.#uid ??= process.getuid?.();
      this.#startInProcess();
      return this;
    }
    this.#changeWatch?.close();
    this.#changeWatch = null;
    const { log: _log, recycleIdleMs: _recycle, keepWarmBelowBytes: _warm, inProcessBelowBytes: _inProcess, ...options } = this.#opts;
    const workerData: FileSourceWorkerData = { options, ...(this.#resume ? { resume: this.#resume } : {}) };
    // The worker's file has this module's extension: .ts from the sources, .js from dist/ (the
    // compiler rewrites import specifiers, not URLs).
    const worker = new Worker(new URL(`./file-source-worker-entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), { workerData });
    this.#started++;
    this.#uid ??= process.getuid?.();
    // Like the watcher it replaces on this thread, it does not keep the process alive.
    worker.unref();
    worker.on('message', (m: FileSourceMessage) => this.#onMessage(m));
    worker.on('error', (err: Error) => {
      // A bug in translation: the table in force stays; the worker is started again (backing
      // off), so edits are followed once the directory no longer triggers it.
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#startCleanup.resolve(); // nothing more will come of the start's clean-up or rehearsal
      clearTimeout(this.#idleTimer);
      this.#log(`meshlet: translating ${this.#opts.dir} failed: ${err.message}; the last table stays in force, retrying in ${this.#restartMs / 1000} s`);
      for (const reject of this.#failures) reject(err);
      setTimeout(() => this.start(), this.#restartMs).unref();
      this.#restartMs = Math.min(this.#restartMs * 2, 30_000);
    });
    this.#worker = worker;
    return this;
  }

  close(): void {
    this.#closed = true;
    this.#startCleanup.resolve();
    clearTimeout(this.#idleTimer);
    this.#changeWatch?.close();
    this.#changeWatch = null;
    void this.#worker?.terminate();
    this.#worker = null;
  }

  /**
   * Stops the idle worker and watches the directory from this thread until it changes. The
   * files' text as the worker last read them is kept gzipped (off the V8 heap, compressed on
   * libuv's pool) for the next worker, so a file broken by the next edit keeps its last good
   * content. `print` is the fingerprint the worker read: a change since then leaves the worker
   * running (it is reading that change), or starts a new one at once.
   */
  async #recycle(print: string, resume: { version: string | null; report: string }, release = false, toInProcess = false): Promise<void> {
    const worker = this.#worker;
    // the start's clean-up (release) ends here unless it goes on below or is retried
    const abandon = (): void => { if (release) this.#startCleanup.resolve(); };
    if (this.#closed || !worker) return abandon();
    // The agent drops privileges (--uid) after the first worker started: a fresh worker must
    // load its modules again, from files the new user may not be able to read (see
    // agent/engine/preload.ts). Such a process keeps its worker rather than risk never
    // following an edit again.
    if (process.getuid?.() !== this.#uid) return abandon();
    if (this.#assembling || this.#queue.length > 0) {
      // Its last table is still being parsed here: wait for that, then try again.
      this.#idleTimer = setTimeout(() => void this.#recycle(print, resume, release, toInProcess), 100).unref();
      return;
    }
    const seen = this.#messages;
    const saved: Record<string, Uint8Array> = {};
    try {
      for (const file of await listManifestFiles(this.#opts.dir)) saved[file] = await gzip(await readFile(file));
      if (await manifestFingerprint(this.#opts.dir) !== print) return abandon();
    } catch {
      return abandon(); // the directory is changing under us: the worker will read it
    }
    if (this.#closed || this.#worker !== worker || this.#messages !== seen) return abandon();
    this.#worker = null;
    // The next loop is a new stream: what the decoder holds for this one is of no more use.
    this.#decoder.forget();
    this.#resume = { ...resume, saved };
    if (release) {
      // Asked to let go of what it holds first (see ToFileSourceWorker), for at most STOP_WAIT_MS.
      const stopped = new Promise<void>((resolve) => {
        worker.on('message', (m: FileSourceMessage) => { if (m.kind === 'stopped') resolve(); });
        setTimeout(resolve, STOP_WAIT_MS).unref();
      });
      worker.postMessage({ kind: 'stop' } satisfies ToFileSourceWorker);
      void stopped.then(() => worker.terminate()).then(() => this.#reclaim()).finally(() => this.#startCleanup.resolve());
    } else {
      void worker.terminate();
    }
    if (toInProcess) {
      this.#startInProcess();
      return;
    }
    this.#changeWatch = watchForChange(this.#opts.dir, print, () => this.start(), {
      onError: (err) => process.stderr.write(`meshlet: watching ${this.#opts.dir}: ${err.message}\n`),
    });
  }

  /**
   * The same loop as the worker's, on this thread, through a MessageChannel. A translation error
   * ends it and starts a worker after the usual back-off, as a worker's crash does.
   */
  #startInProcess(): void {
    const { runFileSource } = createRequire(import.meta.url)(`./file-source-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`) as { runFileSource: typeof RunFileSource };
    const { port1, port2 } = new MessageChannel();
    const { log: _log, recycleIdleMs: _recycle, keepWarmBelowBytes: _warm, inProcessBelowBytes: _inProcess, ...options } = this.#opts;
    let close: () => void = () => undefined;
    const host = {
      postMessage: (m: ToFileSourceWorker) => { port1.postMessage(m); },
      terminate: () => { close(); port1.close(); return Promise.resolve(0); },
    };
    port1.on('message', (m: FileSourceMessage) => { if (this.#worker === (host as unknown as Worker)) this.#onMessage(m); });
    port1.unref();
    port2.unref();
    this.#worker = host as unknown as Worker;
    this.#inProcess = true;
    close = runFileSource(port2, { options, ...(this.#resume ? { resume: this.#resume } : {}) }, (err) => {
      if (this.#worker !== (host as unknown as Worker)) return;
      this.#leaveThisThread();
      this.#log(`meshlet: translating ${this.#opts.dir} failed: ${err.message}; the last table stays in force, retrying in ${this.#restartMs / 1000} s`);
      setTimeout(() => this.start(), this.#restartMs).unref();
      this.#restartMs = Math.min(this.#restartMs * 2, 30_000);
    }, {
      // A change that makes the directory big is read by a worker, never parsed here (issue 15).
      maxBytes: this.#inProcessBelow,
      onTooBig: () => {
        if (this.#worker !== (host as unknown as Worker)) return;
        this.#leaveThisThread();
        this.#log(`meshlet: ${this.#opts.dir} has grown: it is translated in a worker again`);
        this.start();
      },
    });
    this.#log(`meshlet: the table is small: ${this.#opts.dir} is translated on this thread, without a worker`);
  }

  /** Ends the loop on this thread for good (see #leftThisThread): the next start() makes a worker. */
  #leaveThisThread(): void {
    void this.#worker?.terminate();
    this.#worker = null;
    this.#inProcess = false;
    this.#leftThisThread = true;
    clearTimeout(this.#idleTimer);
  }

  /**
   * Once the start's big table's worker has exited: one memory-reducing GC on this thread.
   * Assembling and compiling the table left this thread's heap grown (its young generation to
   * 128 MB at 10 000 routes) with garbage that an idle proxy's own GCs never give back (ADR 0016).
   * The pause grows with the live table (0.3-0.5 s at 10 000 routes on a loaded machine).
   */
  #reclaim(): void {
    const now = performance.now();
    if (this.#closed || now - this.#lastReclaim < BIG_RECLAIM_INTERVAL_MS) return;
    this.#lastReclaim = now;
    const before = process.memoryUsage();
    try {
      memoryReducingGc();
    } catch (err) {
      this.#log(`meshlet: heap reclaim after a large table failed: ${(err as Error).message}`);
      return;
    }
    const ms = performance.now() - now;
    const after = process.memoryUsage();
    const mb = (n: number): number => Math.round(n / 2 ** 20);
    this.#log(`meshlet: heap reclaimed after a large table was loaded: heap ${mb(before.heapTotal)} -> ${mb(after.heapTotal)} MB, RSS ${mb(before.rss)} -> ${mb(after.rss)} MB, ${Math.round(ms)} ms`);
  }

  subscribe(onTable: (t: RoutingTable) => void): () => void {
    return this.#tables.subscribe(onTable);
  }

  /**
   * Resolves with the first table (or the current one). 120 s by default: a directory of 10 000
   * routes takes 5-10 s to read and translate on a quiet 2-core machine and several times that on
   * a busy one, and giving up would stop the agent with a valid configuration.
   */
  async ready(timeoutMs = 120_000): Promise<RoutingTable> {
    if (this.#tables.current) return this.#tables.current;
    let onFailure: (err: Error) => void = () => undefined;
    const failed = new Promise<never>((_resolve, reject) => {
      onFailure = reject;
      this.#failures.add(reject);
    });
    const table = await Promise.race([this.#tables.ready(timeoutMs, this.#opts.dir), failed]).finally(() => this.#failures.delete(onFailure));
    // The start's big table: its worker goes and this thread collects (#reclaim: 0.3-0.5 s at
    // 10 000 routes); a small one: its worker rehearses an edit (tens of ms at 1 000 routes).
    // Either before the agent is ready, not while it serves. Bounded: a worker that never answers
    // the stop is terminated after STOP_WAIT_MS, and one that never answers the rehearsal is
    // simply not waited for longer.
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([this.#startCleanup.promise, new Promise<void>((r) => { bound = setTimeout(r, STOP_WAIT_MS + 5_000); })]);
    clearTimeout(bound);
    return this.#tables.current ?? table;
  }

  /** Whether the last table posted is big enough that its worker is let go (keepWarmBelowBytes), with recycling on. */
  #bigTable(): boolean {
    return (this.#opts.recycleIdleMs ?? 10_000) > 0 && this.#tableBytes >= (this.#opts.keepWarmBelowBytes ?? KEEP_WARM_BELOW_BYTES);
  }

  #post(m: ToFileSourceWorker): void {
    this.#worker?.postMessage(m);
  }

  #log(line: string): void {
    if (this.#opts.log) this.#opts.log(line);
    else process.stderr.write(`${line}\n`);
  }

  #onMessage(m: FileSourceMessage): void {
    if (m.kind === 'stopped') return; // from a worker being recycled (see #recycle)
    if (m.kind === 'rehearsed') {
      // not activity: the start's rehearsal of an edit is done (see ToFileSourceWorker)
      this.#log(`meshlet: translation worker rehearsed an edit, so the first one is not cold: ${Math.round(m.ms)} ms`);
      this.#startCleanup.resolve();
      return;
    }
    if (m.kind === 'shrunk') {
      // not activity: the idle worker answering the source's own request
      const mb = (n: number): number => Math.round(n / 2 ** 20);
      this.#log(`meshlet: idle translation worker shrunk: heap ${mb(m.before)} -> ${mb(m.after)} MB`);
      return;
    }
    clearTimeout(this.#idleTimer);
    this.#messages++;
    if (m.kind === 'settled') {
      // The running worker has read the directory: texts saved for an earlier one are stale (a
      // restart after a failure resumes from the version and report alone, as before recycling).
      this.#resume = { version: m.version, report: m.report, saved: {} };
      const idleMs = this.#opts.recycleIdleMs ?? 10_000;
      const atStart = !this.#settledOnce;
      this.#settledOnce = true;
      const big = this.#bigTable();
      if (atStart && !big) {
        // The worker stays: the first edit's path runs once now, off the record, so that edit
        // does not run cold code (ADR 0016, second addendum).
        this.#post({ kind: 'rehearse' });
      } else if (atStart && !m.clean) {
        this.#startCleanup.resolve(); // a big table with a broken file: the worker stays as it is
      }
      if (m.clean && idleMs > 0) {
        const resume = { version: m.version, report: m.report };
        // At the start nothing is served yet (ready() waits for this) that a stop and a GC could delay.
        const small = this.#tableBytes < this.#inProcessBelow;
        if (this.#inProcess && !small) {
          // grown past what this thread translates: back to a worker (a cold start, once)
          this.#leaveThisThread();
          this.start();
        } else if (this.#inProcess) { /* stays here: nothing to shrink apart from this thread's own GC */ }
        else if (big && atStart) void this.#recycle(m.print, resume, true);
        else if (big) this.#idleTimer = setTimeout(() => void this.#recycle(m.print, resume), idleMs).unref();
        else if (small && directoryBytes(this.#opts.dir) < this.#inProcessBelow) this.#idleTimer = setTimeout(() => void this.#recycle(m.print, resume, false, true), idleMs).unref();
        else this.#idleTimer = setTimeout(() => this.#post({ kind: 'shrink' }), idleMs).unref();
      }
    } else if (m.kind === 'report') this.#log(m.text);
    else if (m.kind === 'error') process.stderr.write(`meshlet: watching ${this.#opts.dir}: ${m.message}\n`);
    else {
      this.#tableBytes = m.bytes;
      this.#superseded += m.superseded;
      this.#queue.push({ parts: m.parts, valid: m.valid });
      if (!this.#assembling) void this.#assemble();
    }
  }

  /**
   * Parses posted tables slice by slice, yielding to the event loop between slices: one
   * JSON.parse of a 10 000-route table holds this thread for 0.1 to 0.3 s.
   */
  async #assemble(): Promise<void> {
    this.#assembling = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const { parts, valid } = this.#queue.shift()!;
        this.#post({ kind: 'taken' });
        const table = JSON.parse(parts.head) as RoutingTable;
        this.#decoder.begin(parts.stream);
        try {
          for (const slice of parts.services) {
            await new Promise((r) => setImmediate(r));
            if (this.#closed) return;
            table.services.push(...this.#decoder.services(slice));
          }
        } catch (err) {
          // The worker and this thread disagree on the rules held here (a bug): the table is not
          // applied, and the worker is asked for the last one whole.
          this.#decoder.forget();
          this.#log(`meshlet: a routing table from ${this.#opts.dir} could not be assembled (${(err as Error).message}); asking for it whole`);
          this.#post({ kind: 'resend' });
          continue;
        }
        this.#decoder.end();
        // Superseded while assembling (a newer table is waiting): its backends are not parsed, nor is it pushed.
        if (this.#queue.length > 0) continue;
        for (const slice of parts.backends) {
          await new Promise((r) => setImmediate(r));
          if (this.#queue.length > 0 || this.#closed) break;
          table.backends.push(...(JSON.parse(slice) as RoutingTable['backends']));
        }
        if (this.#queue.length > 0 || this.#closed) continue;
        this.#tables.push(valid ? markValidated(table) : table);
      }
    } finally {
      this.#assembling = false;
    }
  }
}
