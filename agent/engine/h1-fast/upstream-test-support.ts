// Test helpers for the fast path's upstream side: a raw upstream on 127.0.0.1 port 0 that hands
// each complete request (head and Content-Length body) to the test with its connection, so a
// test writes exactly the response bytes it means (framings, closes, races); and a recording
// sink whose read back-pressure the test controls.
import net, { type AddressInfo } from 'node:net';
import type { ResponseHead } from './response-head.ts';
import type { UpstreamLease, UpstreamSink } from './upstream-types.ts';

export interface SeenRequest {
  /** The request head as received (request line and fields, without the blank line). */
  head: string;
  body: Buffer;
  /** Which accepted connection (0, 1, …) and which request on it (0, 1, …). */
  conn: number;
  index: number;
  socket: net.Socket;
}

export interface RawUpstream {
  port: number;
  readonly requests: SeenRequest[];
  readonly connections: net.Socket[];
  close(): Promise<void>;
}

/** Reads requests from `socket` (a TCP or decrypted TLS stream) and hands each to `answer`. */
export function serveRequests(socket: net.Socket, connections: net.Socket[], requests: SeenRequest[], answer: (req: SeenRequest) => void): void {
  const conn = connections.length;
  connections.push(socket);
  socket.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  let index = 0;
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.toString('latin1', 0, end);
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      const length = m ? Number(m[1]) : 0;
      if (buf.length < end + 4 + length) return;
      const req = { head, body: buf.subarray(end + 4, end + 4 + length), conn, index: index++, socket };
      buf = buf.subarray(end + 4 + length);
      requests.push(req);
      answer(req);
    }
  });
}

/** `answer` is called per complete request; requests with `Transfer-Encoding` are not supported. */
export async function rawUpstream(answer: (req: SeenRequest) => void): Promise<RawUpstream> {
  const requests: SeenRequest[] = [];
  const connections: net.Socket[] = [];
  const server = net.createServer((socket) => serveRequests(socket, connections, requests, answer));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    connections,
    close: () => new Promise<void>((r) => {
      for (const s of connections) s.destroy();
      server.close(() => r());
    }),
  };
}

/** What a sink saw, in order: `head <status>`, `body <n>`, `end`, `error <code>`. */
export class RecordingSink implements UpstreamSink {
  readonly events: string[] = [];
  readonly heads: ResponseHead[] = [];
  readonly pieces: Buffer[] = [];
  trailers: string[] | null = null;
  error: (Error & { code?: string }) | null = null;
  responseStarted: boolean | null = null;
  drains = 0;
  /** What onReadDone answers (false: the read stays held until the test resumes the lease). */
  release = true;
  reads = 0;
  lease: UpstreamLease | null = null;
  readonly settled: Promise<void>;
  #settle!: () => void;

  constructor() {
    this.settled = new Promise<void>((r) => { this.#settle = r; });
  }

  onResponseHead(head: ResponseHead): void {
    this.heads.push(head);
    this.events.push(`head ${head.status}`);
  }

  onResponseBody(piece: Buffer): void {
    this.pieces.push(Buffer.from(piece)); // a view of the read buffer: copied to keep
  }

  onResponseEnd(trailers: string[]): void {
    this.trailers = trailers;
    this.events.push('end');
    this.#settle();
  }

  onReadDone(): boolean {
    this.reads++;
    return this.release;
  }

  onRequestDrain(): void {
    this.drains++;
  }

  onUpstreamError(err: Error, responseStarted: boolean): void {
    this.error = err;
    this.responseStarted = responseStarted;
    this.events.push(`error ${(err as { code?: string }).code ?? err.message}`);
    this.#settle();
  }

  get body(): string {
    return Buffer.concat(this.pieces).toString('latin1');
  }

  get bodyBytes(): number {
    let n = 0;
    for (const p of this.pieces) n += p.length;
    return n;
  }
}

/** Resolves when `check` holds, polling every 5 ms; rejects after `ms`. */
export async function until(check: () => boolean, ms = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Bounded wait for a sink to see its response end or an error. */
export async function settled(sink: RecordingSink, ms = 3_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([sink.settled, new Promise<never>((_r, reject) => { timer = setTimeout(() => reject(new Error(`no end or error within ${ms} ms: ${sink.events.join(', ')}`)), ms); })]);
  clearTimeout(timer);
}
