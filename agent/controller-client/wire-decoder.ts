// Decodes the controller's frames off the serving thread (issue 15): a worker
// (wire-decoder-worker.ts) parses and checks every frame and validates every routing table; this
// side parses each table's slices between requests, yielding to the event loop after each, and
// hands results on in frame order. A table it hands on is marked validated (api/
// validated-tables.ts), so the TableHolder does not validate it a second time on this thread.
// What remains here per table is its slices' JSON.parse, in pieces, and the matcher's compile.
import { Worker } from 'node:worker_threads';
import type { RoutingTable } from '../../api/routing-table.ts';
import { markValidated } from '../../api/validated-tables.ts';
import { parseMessage, type ControllerMessage } from '../../api/wire.ts';
import type { DecoderRequest, DecoderResult, TableParts } from './wire-decoder-types.ts';

export type Decoded =
  | Exclude<DecoderResult, { kind: 'table' }>
  | { kind: 'table'; conn: number; type: 'update' | 'patch'; version: string; table: RoutingTable };

export interface WireDecoderOptions {
  /** Each decoded frame, in the order the frames were given. */
  onResult: (r: Decoded) => void;
  /** The worker died: frames in flight are lost (the caller reconnects to resync). */
  onFailure: (err: Error) => void;
  /**
   * The worker is let go after this long without a frame (default 30 s), and started again with
   * the next one: its heap, grown by the last big table, is then given back to the system. The
   * table in force is handed to the new worker as text, so patches still apply.
   */
  idleMs?: number;
}

/** Default DecoderOptions.idleMs. */
export const DECODER_IDLE_MS = 30_000;

/**
 * Frames below this size that are not tables are parsed here when nothing is queued ahead of
 * them: an on-demand answer must not wait for a worker to start (0.2-0.4 s on a busy node).
 */
const INLINE_BYTES = 64 * 1024;

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
  #idle: NodeJS.Timeout | null = null;
  /** Frames given to the worker and not yet answered: it is never let go with any. */
  #inFlight = 0;
  /** The last table decoded, as its worker sent it: the base a new worker starts from. */
  #lastParts: TableParts | null = null;
  readonly #results: DecoderResult[] = [];
  #draining = false;
  #closed = false;

  constructor(opts: WireDecoderOptions) {
    this.#opts = opts;
  }

  decode(conn: number, frame: Buffer): void {
    if (this.#closed) return;
    if (frame.length < INLINE_BYTES && this.#inFlight === 0 && !this.#draining && this.#results.length === 0) {
      let msg: ControllerMessage;
      try {
        msg = parseMessage(frame, 'controller') as ControllerMessage;
      } catch (err) {
        this.#deliver({ kind: 'invalid', conn, message: (err as Error).message });
        return;
      }
      // Tables always go to the worker: it holds the base of the next patch.
      if (msg.type !== 'update' && msg.type !== 'patch') {
        this.#deliver({ kind: 'message', conn, msg });
        return;
      }
    }
    const req: DecoderRequest = { kind: 'frame', conn, frame };
    this.#start().postMessage(req);
    this.#inFlight++;
    this.#armIdle();
  }

  /** (Re)starts the quiet period after which the worker is let go. */
  #armIdle(): void {
    if (this.#idle) this.#idle.refresh();
    else {
      this.#idle = setTimeout(() => {
        this.#idle = null;
        if (this.#inFlight > 0) this.#armIdle();
        else this.#letGo();
      }, this.#opts.idleMs ?? DECODER_IDLE_MS);
      this.#idle.unref();
    }
  }

  /** Whether a worker is running (tests). */
  get running(): boolean {
    return this.#worker !== null;
  }

  close(): void {
    this.#closed = true;
    this.#letGo();
  }

  #letGo(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    void this.#worker?.terminate();
    this.#inFlight = 0;
    this.#worker = null;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // The worker's file has this module's extension: .ts from the sources, .js from dist/.
    const worker = new Worker(new URL(`./wire-decoder-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
    // The WebSocket keeps the process alive while connected; the worker need not.
    worker.unref();
    worker.on('message', (r: DecoderResult) => {
      if (this.#worker !== worker) return;
      this.#inFlight--;
      if (r.kind === 'table') this.#lastParts = r.parts;
      this.#deliver(r);
    });
    worker.on('error', (err: Error) => {
      if (this.#worker !== worker) return;
      // A new worker starts with the next frame, from the last table decoded.
      this.#worker = null;
      this.#inFlight = 0;
      this.#opts.onFailure(err);
    });
    if (this.#lastParts) {
      const base: DecoderRequest = { kind: 'base', parts: this.#lastParts };
      worker.postMessage(base);
    }
    this.#worker = worker;
    return worker;
  }

  #deliver(r: DecoderResult): void {
    this.#results.push(r);
    if (!this.#draining) this.#drain().catch((err: unknown) => this.#opts.onFailure(err as Error));
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
