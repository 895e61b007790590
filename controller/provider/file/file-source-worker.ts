// The file-mode translation worker: watches the directory, reads and parses the manifests,
// translates and validates, and posts each new routing table to the thread that serves
// requests as JSON text (one JSON.parse there, ~0.1 s for 10 000 routes, instead of the
// seconds reading and translating take). Messages: FileSourceMessage. The same loop runs on the
// serving thread for a small directory (runFileSource, through a MessageChannel; ADR 0012).
import { parentPort, workerData } from 'node:worker_threads';
import type { RouteRuleIR, RoutingTable } from '../../../api/routing-table.ts';
import { validate } from '../../../api/validate.ts';
import { memoryReducingGc } from '../../../common/heap-reclaim.ts';
import { FileTranslator, type FileTranslatorOptions, type TranslatorResume } from './file-translator.ts';
import { TablePartsEncoder, type TableParts } from './table-parts.ts';
import { watchManifests, type ManifestWatcher } from './watch-manifests.ts';

export type { TableParts } from './table-parts.ts';

export type FileSourceMessage =
  | { kind: 'report'; text: string }
  /** `valid`: validate() passed here, so the agent need not run it again on its thread. */
  /** `bytes`: the length of the table's JSON written whole, not the parts' (table-parts.ts); file-table-source.ts decides by it. */
  /** `superseded`: tables translated since the last one posted that a newer one replaced while they waited (never sent). */
  | { kind: 'table'; parts: TableParts; valid: boolean; bytes: number; superseded: number }
  | { kind: 'error'; message: string }
  /**
   * After each read is applied: `print` is the directory's fingerprint before that read, `clean`
   * says no file was broken (so no last good content is held), `version` is the last table's.
   */
  | { kind: 'settled'; print: string; clean: boolean; version: string | null; report: string }
  /** Answers `stop`: the worker holds nothing of the directory any more; terminate it now. */
  | { kind: 'stopped' }
  /** After `shrink`: the worker's committed heap before and after its collection, bytes. */
  | { kind: 'shrunk'; before: number; after: number }
  /** Answers `rehearse`: the edit's path has run once, in `ms`; the worker holds what it held before. */
  | { kind: 'rehearsed'; ms: number };

/**
 * From the source to the worker: `shrink` after it has been idle with a small table, so it stays
 * warm (the next edit is incremental) without the garbage of its reads: one memory-reducing GC.
 * `stop` before it is terminated: it drops the directory's parse and translation state and
 * collects, so its pages are unmapped now. Terminated as it is, a worker's pages go to V8's
 * process-wide pool, which frees them only 8 s after the isolate is gone (src/heap/page-pool.cc).
 * `rehearse` once after the start's table when the worker is kept: an edit's translation,
 * validation and serialisation run once on a throw-away table (FileTranslator.rehearse), so the
 * first real edit does not run them cold. No GC follows: a memory-reducing one left the heap so
 * small that the next edits collected more (measured; the idle shrink takes the garbage later).
 */
export type ToFileSourceWorker = { kind: 'shrink' } | { kind: 'stop' } | { kind: 'rehearse' }
  /** The source could not assemble a table from its parts (see table-parts.ts): post the last one again, whole. */
  | { kind: 'resend' }
  /**
   * The source has taken the last table posted off its queue: the loop may post the next. Until
   * then a newer table waits here, replacing any that waited before it, so the source holds at
   * most one table's text waiting whatever the edit rate, and a table superseded here is never
   * serialised (review N5: the source kept every superseded table's text until it got to it).
   */
  | { kind: 'taken' };

/** workerData: the translator's options and, for a recycled worker, where the last one left off. */
export interface FileSourceWorkerData {
  options: FileTranslatorOptions;
  resume?: TranslatorResume;
}

/** What runs the loop: the worker's parentPort, or one end of a MessageChannel on the serving thread. */
export interface SourcePort {
  postMessage(m: FileSourceMessage): void;
  on(event: 'message', listener: (m: ToFileSourceWorker) => void): unknown;
}

/**
 * The watch-read-translate loop, on whichever thread calls it; returns its close (the watcher
 * and the translator's state dropped). In a worker it runs at load (below).
 */
export function runFileSource(port: SourcePort, data: FileSourceWorkerData, onError?: (err: Error) => void, tooBig?: { maxBytes: number; onTooBig: () => void }): () => void {
const { options: opts, resume } = data;
const post = (m: FileSourceMessage): void => port.postMessage(m);
let translator: FileTranslator | null = new FileTranslator(opts, resume);
let watcher: ManifestWatcher | null = null;
let version = resume?.version ?? null;
/** Sends each table's rules the receiving thread does not hold yet (table-parts.ts). */
const encoder = new TablePartsEncoder();
/** The newest table translated (posted, or waiting to be), for a `resend`. */
let lastTable: RoutingTable | null = null;
/** Tables posted that the source has not taken yet (see `taken`). */
let untaken = 0;
/** The newest table not posted yet, and the `settled` of the last read since, posted after it (the source reads a read's table before its settled). */
let waiting: { table: RoutingTable; settled: FileSourceMessage | null } | null = null;
/** Tables that waited and were replaced by a newer one since the last table posted (reported with the next). */
let superseded = 0;
/** Rules validated before (api/validate.ts passedRules): an edit of one route checks that route's rules. */
let passedRules = new WeakMap<RouteRuleIR, string[]>();
// The watcher's handles do not keep a process alive (persistent: false, unref'd poll); a
// listening port does, so this worker lives until the source terminates it.
port.on('message', (m: ToFileSourceWorker) => {
  // Its pause is this thread's, not the serving thread's; a read that starts meanwhile waits for it.
  if (m.kind === 'shrink') {
    const before = process.memoryUsage().heapTotal;
    memoryReducingGc();
    post({ kind: 'shrunk', before, after: process.memoryUsage().heapTotal });
  } else if (m.kind === 'stop') {
    watcher?.close();
    watcher = null;
    translator = null;
    lastTable = null;
    waiting = null;
    untaken = 0;
    encoder.reset();
    passedRules = new WeakMap();
    memoryReducingGc();
    post({ kind: 'stopped' });
  } else if (m.kind === 'rehearse') {
    const start = performance.now();
    const table = translator?.rehearse();
    if (table) serialise(table, true);
    post({ kind: 'rehearsed', ms: performance.now() - start });
  } else if (m.kind === 'resend') {
    encoder.reset();
    const settled = waiting?.settled;
    waiting = null;
    if (lastTable) postTable(lastTable);
    if (settled) post(settled);
  } else if (m.kind === 'taken') {
    // Math.max: a source that restarted its loop may acknowledge a table of the last one.
    untaken = Math.max(0, untaken - 1);
    if (untaken === 0 && waiting) {
      const { table, settled } = waiting;
      waiting = null;
      postTable(table);
      if (settled) post(settled);
    }
  }
});

watcher = watchManifests(opts.dir, (read, print) => {
  if (!translator) return;
  let applied: ReturnType<FileTranslator['apply']>;
  try {
    applied = translator.apply(read);
  } catch (err) {
    // in a worker an uncaught error ends it and the source starts another; on the serving thread it must not crash the agent
    if (!onError) throw err;
    onError(err as Error);
    return;
  }
  const { report, table } = applied;
  if (report) post({ kind: 'report', text: report });
  if (table) {
    version = table.version;
    lastTable = table;
    if (untaken > 0) {
      if (waiting) superseded++;
      waiting = { table, settled: null };
    } else postTable(table);
  }
  const settled: FileSourceMessage = { kind: 'settled', print, clean: read.problems.length === 0, version, report: translator.report };
  if (waiting) waiting.settled = settled;
  else post(settled);
}, { onError: (err) => post({ kind: 'error', message: err.message }), ...tooBig });

function postTable(table: RoutingTable): void {
  untaken++;
  post({ kind: 'table', ...serialise(table), superseded });
  superseded = 0;
}

/** What postTable sends of `table`: validated here, as JSON in slices; `dryRun`: nothing remembered (the rehearsal). */
function serialise(table: RoutingTable, dryRun = false): { parts: TableParts; valid: boolean; bytes: number } {
  let valid = true;
  try {
    // The translator has just computed `version` from this object: hashing it again is skipped.
    validate(table, { version: false, passedRules });
  } catch {
    // The agent's TableHolder validates it again and refuses it with the reason.
    valid = false;
  }
  return { ...encoder.encode(table, dryRun), valid };
}
return () => { watcher?.close(); watcher = null; translator = null; lastTable = null; };
}

if (parentPort && (workerData as FileSourceWorkerData | null)?.options) runFileSource(parentPort, workerData as FileSourceWorkerData);
