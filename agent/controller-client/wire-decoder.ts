// Decodes the controller's frames off the serving thread (issue 15): a worker
// (wire-decoder-worker.ts) parses and checks every frame and validates every routing table; this
// side parses each table's slices between requests, yielding to the event loop after each, and
// hands results on in frame order. A table it hands on is marked validated (api/
// validated-tables.ts), so the TableHolder does not validate it a second time on this thread.
// What remains here per table is its slices' JSON.parse, in pieces, and the matcher's compile.
import { Worker } from 'node:worker_threads';
import type { RoutingTable } from '../../api/routing-table.ts';
import { markValidated } from '../../api/validated-tables.ts';
import type { DecoderRequest, DecoderResult, TableParts } from './wire-decoder-types.ts';

export type Decoded =
  | Exclude<DecoderResult, { kind: 'table' }>
  | { kind: 'table'; conn: number; type: 'update' | 'patch'; version: string; table: RoutingTable };

export interface WireDecoderOptions {
  /** Each decoded frame, in the order the frames were given. */
  onResult: (r: Decoded) => void;
  /** The worker died: frames in flight are lost (the caller reconnects to resync). */
  onFailure: (err: Error) => void;
}

async function assemble(parts: TableParts): Promise<RoutingTable> {
  const table = JSON.parse(parts.head) as RoutingTable;
  for (const [field, slices] of [['services', parts.services], ['backends', parts.backends]] as const) {
    for (const slice of slices) {
      await new Promise((r) => setImmediate(r));
      (table[field] as unknown[]).push(...(JSON.parse(slice) as unknown[]));
    }
  }
  return markValidated(table);
}

export class WireDecoder {
  readonly #opts: WireDecoderOptions;
  #worker: Worker | null = null;
  readonly #results: DecoderResult[] = [];
  #draining = false;
  #closed = false;

  constructor(opts: WireDecoderOptions) {
    this.#opts = opts;
  }

  decode(conn: number, frame: Buffer): void {
    if (this.#closed) return;
    const req: DecoderRequest = { conn, frame };
    this.#start().postMessage(req);
  }

  close(): void {
    this.#closed = true;
    void this.#worker?.terminate();
    this.#worker = null;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // The worker's file has this module's extension: .ts from the sources, .js from dist/.
    const worker = new Worker(new URL(`./wire-decoder-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
    // The WebSocket keeps the process alive while connected; the worker need not.
    worker.unref();
    worker.on('message', (r: DecoderResult) => {
      this.#results.push(r);
      if (!this.#draining) this.#drain().catch((err: unknown) => this.#opts.onFailure(err as Error));
    });
    worker.on('error', (err: Error) => {
      if (this.#worker !== worker) return;
      // A new worker starts with the next frame; it has no previous table, so a patch is
      // refused (resend) until the controller sends the whole table again.
      this.#worker = null;
      this.#opts.onFailure(err);
    });
    this.#worker = worker;
    return worker;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let r = this.#results.shift(); r && !this.#closed; r = this.#results.shift()) {
        if (r.kind === 'table') this.#opts.onResult({ kind: 'table', conn: r.conn, type: r.type, version: r.version, table: await assemble(r.parts) });
        else this.#opts.onResult(r);
      }
    } finally {
      this.#draining = false;
    }
  }
}
