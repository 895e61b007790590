// File mode: a manifest directory, translated off the serving thread, as the agent's table
// source. A worker (file-source-worker.ts) watches the directory, re-reads it after every settled
// change, translates and validates it; this side only parses the table it posts and pushes it,
// so a 10 MB manifest or 10 000 routes never stall requests (issue 15). The agent swaps tables
// atomically. Broken documents and routes that are not accepted are logged with their file and
// reason, and the valid rest still applies.
import { Worker } from 'node:worker_threads';
import type { RoutingTable } from '../../../api/routing-table.ts';
import { ManualTableSource } from '../../../api/table-source.ts';
import { markValidated } from '../../../api/validated-tables.ts';
import type { FileSourceMessage, TableParts } from './file-source-worker.ts';
import type { FileTranslatorOptions } from './file-translator.ts';

export { unhealthyConditions } from './file-translator.ts';

export interface FileTableSourceOptions extends FileTranslatorOptions {
  log?: (line: string) => void;
}

export class FileTableSource {
  readonly #opts: FileTableSourceOptions;
  readonly #tables = new ManualTableSource();
  #worker: Worker | null = null;
  #closed = false;
  /** Rejects pending ready() calls when the worker dies before the first table. */
  readonly #failures = new Set<(err: Error) => void>();
  #restartMs = 1_000;
  /** The newest table posted and not yet assembled; an older one still waiting is dropped. */
  #next: { parts: TableParts; valid: boolean } | null = null;
  #assembling = false;

  constructor(opts: FileTableSourceOptions) {
    this.#opts = opts;
  }

  get current(): RoutingTable | null {
    return this.#tables.current;
  }

  start(): this {
    if (this.#worker || this.#closed) return this;
    const { log: _log, ...translatorOptions } = this.#opts;
    // The worker's file has this module's extension: .ts from the sources, .js from dist/ (the
    // compiler rewrites import specifiers, not URLs).
    const worker = new Worker(new URL(`./file-source-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), { workerData: translatorOptions });
    // Like the watcher it replaces on this thread, it does not keep the process alive.
    worker.unref();
    worker.on('message', (m: FileSourceMessage) => this.#onMessage(m));
    worker.on('error', (err: Error) => {
      // A bug in translation: the table in force stays; the worker is started again (backing
      // off), so edits are followed once the directory no longer triggers it.
      if (this.#worker !== worker) return;
      this.#worker = null;
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
    void this.#worker?.terminate();
    this.#worker = null;
  }

  subscribe(onTable: (t: RoutingTable) => void): () => void {
    return this.#tables.subscribe(onTable);
  }

  /** Resolves with the first table (or the current one). */
  ready(timeoutMs = 10_000): Promise<RoutingTable> {
    if (this.#tables.current) return Promise.resolve(this.#tables.current);
    let onFailure: (err: Error) => void = () => undefined;
    const failed = new Promise<never>((_resolve, reject) => {
      onFailure = reject;
      this.#failures.add(reject);
    });
    return Promise.race([this.#tables.ready(timeoutMs, this.#opts.dir), failed]).finally(() => this.#failures.delete(onFailure));
  }

  #log(line: string): void {
    if (this.#opts.log) this.#opts.log(line);
    else process.stderr.write(`${line}\n`);
  }

  #onMessage(m: FileSourceMessage): void {
    if (m.kind === 'report') this.#log(m.text);
    else if (m.kind === 'error') process.stderr.write(`meshlet: watching ${this.#opts.dir}: ${m.message}\n`);
    else {
      this.#next = { parts: m.parts, valid: m.valid };
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
      while (this.#next && !this.#closed) {
        const { parts, valid } = this.#next;
        this.#next = null;
        const table = JSON.parse(parts.head) as RoutingTable;
        for (const [field, slices] of [['services', parts.services], ['backends', parts.backends]] as const) {
          for (const slice of slices) {
            await new Promise((r) => setImmediate(r));
            if (this.#next || this.#closed) break;
            (table[field] as unknown[]).push(...(JSON.parse(slice) as unknown[]));
          }
        }
        // Superseded while assembling (a newer table is waiting), or closed: not pushed.
        if (this.#next || this.#closed) continue;
        this.#tables.push(valid ? markValidated(table) : table);
      }
    } finally {
      this.#assembling = false;
    }
  }
}
