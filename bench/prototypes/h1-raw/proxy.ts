// A one-hop HTTP/1.1 keep-alive proxy on raw `net` sockets, parser-agnostic (parser.ts): the
// candidate hot path of issue 16 / ADR 0017. Per request it allocates one small Exchange and one
// head buffer per direction; connections are long-lived objects whose bound methods are the
// socket and parser callbacks (no closure, EventEmitter or AbortController per request).
// Output is collected per socket during one parse and written once at the end of it (one
// write per read: head + body + terminator of a small message go out together). Bodies are
// streamed: Content-Length bodies pass through, chunked bodies are de-framed by llhttp and
// re-framed here (so what reaches the next hop is always framing we wrote). Back-pressure: a
// write that leaves anything queued pauses the socket feeding it until the write completes.
// Every socket reads into one reused buffer per connection (`onread`), so streaming allocates
// nothing per read; accepted sockets get it by re-wrapping their handle (see startProxy).
//
// Prototype limits (what the production module adds, ADR 0017): no routing, filters, timeouts,
// telemetry or retries (a request on a pooled connection the upstream closed at the same
// moment gets a 502); upgrades and CONNECT get 501 (production: the general path).
import net from 'node:net';
import { PAUSE, type H1Handler, type H1Parser, type ParseError, type ParserFactory } from './parser.ts';

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const CRLF = Buffer.from('\r\n');
/**
 * Content-Length bodies at least this long bypass the parser (relayed as slices of the read
 * buffer). Smaller ones go through llhttp's body callback: pausing the native parser costs an
 * Error object per message (HPE_PAUSED is reported as one), more than copying a small body.
 */
const BYPASS_MIN = 16 * 1024;
const READ_BUFFER = 64 * 1024;
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const BAD_REQUEST = Buffer.from('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
const BAD_GATEWAY = Buffer.from('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
const NOT_IMPLEMENTED = Buffer.from('HTTP/1.1 501 Not Implemented\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');

/** Sockets with output collected during the current parse; written once at the end of it. */
const dirty: Conn[] = [];
function flushAll(): void {
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
}

/** Removes hop-by-hop fields (and those the Connection field names) and serialises the rest. */
function endToEndFields(fields: string[]): { text: string; te: string; connection: string; length: number } {
  let text = '';
  let length = -1;
  let te = '';
  let connection = '';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const lower = name.toLowerCase();
    if (HOP.has(lower)) {
      if (lower === 'transfer-encoding') te = te === '' ? fields[i + 1]! : `${te}, ${fields[i + 1]!}`;
      else if (lower === 'connection') connection = connection === '' ? fields[i + 1]!.toLowerCase() : `${connection}, ${fields[i + 1]!.toLowerCase()}`;
      continue;
    }
    if (lower === 'content-length') length = Number(fields[i + 1]!.trim()); // one, digits only: llhttp checked
    text += `${name}: ${fields[i + 1]!}\r\n`;
  }
  if (connection !== '') {
    // rare: the Connection field names other fields to drop; filter again without them
    const named = new Set(connection.split(',').map((t) => t.trim()).filter((t) => t !== 'close' && t !== 'keep-alive' && t !== ''));
    if (named.size > 0) {
      text = '';
      for (let i = 0; i < fields.length; i += 2) {
        const lower = fields[i]!.toLowerCase();
        if (!HOP.has(lower) && !named.has(lower)) text += `${fields[i]!}: ${fields[i + 1]!}\r\n`;
      }
    }
  }
  return { text, te, connection, length };
}

function chunkHead(n: number): Buffer { return Buffer.from(`${n.toString(16)}\r\n`, 'latin1'); }

function trailerBlock(fields: string[]): Buffer {
  let t = '0\r\n';
  for (let i = 0; i < fields.length; i += 2) if (!HOP.has(fields[i]!.toLowerCase())) t += `${fields[i]!}: ${fields[i + 1]!}\r\n`;
  return Buffer.from(`${t}\r\n`, 'latin1');
}

abstract class Conn {
  readonly socket: net.Socket;
  private out: Buffer[] = [];
  private queued = false;
  private closeAfterFlush = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
  }

  private blocked = false;
  private readonly written = this.onWritten.bind(this);

  private onWritten(): void {
    if (this.blocked && this.socket.writableLength === 0) { this.blocked = false; this.feeder()?.resume(); }
  }

  push(b: Buffer): void {
    this.out.push(b);
    if (!this.queued) { this.queued = true; dirty.push(this); }
  }

  flush(): void {
    this.queued = false;
    const n = this.out.length;
    if (n === 0) return;
    const data = n === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    if (this.socket.destroyed) return;
    this.socket.write(data, this.written);
    // Anything left queued may still point into the feeder's reused read buffer (upstream
    // sockets read into one fixed buffer): stop reading until it is written.
    if (this.socket.writableLength > 0) { this.blocked = true; this.feeder()?.pause(); }
    if (this.closeAfterFlush) this.socket.end();
  }

  /** Ends the socket once what is collected so far has been written. */
  endAfterFlush(): void {
    if (this.queued) this.closeAfterFlush = true;
    else this.socket.end();
  }

  /** The socket whose data is being written to this one (paused under back-pressure). */
  abstract feeder(): net.Socket | null;

  /** Bytes of a Content-Length body still to relay as they are (the parser paused after the head). */
  protected bodyLeft = 0;

  /**
   * Parses a read; a Content-Length body after a paused head is relayed as slices of the read
   * buffer (no copy, no parser), and the parser is reset for the next message once it is done.
   */
  protected consume(parser: H1Parser, d: Buffer): ParseError | undefined {
    let data = d;
    while (data.length > 0) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, data.length);
        this.bodyPiece(n === data.length ? data : data.subarray(0, n));
        this.bodyLeft -= n;
        data = data.subarray(n);
        if (this.bodyLeft === 0) { parser.reset(); this.onComplete(); }
        continue;
      }
      const r = parser.execute(data);
      if (typeof r !== 'number') return r;
      data = data.subarray(r);
    }
    return undefined;
  }

  protected abstract bodyPiece(piece: Buffer): void;
  abstract onComplete(): void;
}

class Exchange {
  readonly ds: Downstream;
  readonly method: string;
  readonly head: Buffer;
  readonly reqChunked: boolean;
  readonly clientClose: boolean;
  readonly clientMinor: number;
  /** Request bytes framed for the upstream, held while the exchange waits behind another. */
  held: Buffer[] | null = [];
  up: Upstream | null = null;
  reqDone = false;
  resStarted = false;
  resChunked = false;
  resDone = false;

  constructor(ds: Downstream, method: string, head: Buffer, reqChunked: boolean, clientClose: boolean, clientMinor: number) {
    this.ds = ds;
    this.method = method;
    this.head = head;
    this.reqChunked = reqChunked;
    this.clientClose = clientClose;
    this.clientMinor = clientMinor;
  }

  toUpstream(b: Buffer, copy: boolean): void {
    if (this.up !== null) this.up.push(b);
    else this.held!.push(copy ? Buffer.from(b) : b);
  }
}

class Pool {
  readonly port: number;
  private readonly factory: ParserFactory;
  readonly idle: Upstream[] = [];

  constructor(port: number, factory: ParserFactory) {
    this.port = port;
    this.factory = factory;
  }

  acquire(): Upstream {
    for (;;) {
      const up = this.idle.pop();
      if (up === undefined) return new Upstream(this, this.factory);
      if (!up.socket.destroyed) return up;
    }
  }

  release(up: Upstream): void { this.idle.push(up); }
}

class Upstream extends Conn implements H1Handler {
  private readonly pool: Pool;
  private readonly parser: H1Parser;
  ex: Exchange | null = null;
  private keepAlive = true;
  private interim = false;

  constructor(pool: Pool, factory: ParserFactory) {
    // reads go into one buffer per connection, reused (no 64 KB allocation per read): what is
    // relayed from it is written before the next read (see flush)
    const target: { up: Upstream | null } = { up: null };
    super(net.connect({ host: '127.0.0.1', port: pool.port, onread: { buffer: Buffer.allocUnsafe(READ_BUFFER), callback: (n: number, b: Uint8Array) => { target.up!.onData(Buffer.from(b.buffer, b.byteOffset, n)); return true; } } }));
    target.up = this;
    this.pool = pool;
    this.parser = factory('response', this);
    this.socket.on('drain', this.onDrain.bind(this));
    this.socket.on('error', () => { /* 'close' follows */ });
    this.socket.on('close', this.onClose.bind(this));
  }

  feeder(): net.Socket | null { return this.ex?.ds.socket ?? null; }

  private onDrain(): void { this.ex?.ds.socket.resume(); }

  onData(d: Buffer): void {
    const err = this.consume(this.parser, d);
    if (err !== undefined) this.broken();
    flushAll();
  }

  protected bodyPiece(piece: Buffer): void { this.ex?.ds.push(piece); }

  private onClose(): void {
    const i = this.pool.idle.indexOf(this);
    if (i >= 0) this.pool.idle.splice(i, 1);
    const ex = this.ex;
    if (ex !== null && !ex.resDone) {
      // a read-until-close response ends here; anything else is a truncated response
      if (this.parser.finish() !== undefined || !ex.resDone) this.broken();
      flushAll();
    }
    this.parser.close();
  }

  private broken(): void {
    const ex = this.ex;
    this.keepAlive = false;
    this.socket.destroy();
    if (ex === null || ex.resDone) return;
    this.ex = null;
    if (!ex.resStarted) { ex.ds.push(BAD_GATEWAY); ex.ds.endAfterFlush(); } else ex.ds.socket.destroy();
  }

  onHead(_minor: number, fields: string[], _m: string, _u: string, status: number, reason: string, _upgrade: boolean, keepAlive: boolean): number {
    const ex = this.ex;
    if (ex === null) { this.broken(); return 0; }
    const { text, te, length } = endToEndFields(fields);
    let head = `HTTP/1.1 ${status} ${reason}\r\n${text}`;
    this.keepAlive = keepAlive;
    if (status < 200) {
      this.interim = true; // 100 Continue, 103 Early Hints: forwarded, the final response follows
      ex.ds.push(Buffer.from(`${head}\r\n`, 'latin1'));
      return 0;
    }
    ex.resStarted = true;
    const noBody = ex.method === 'HEAD' || status === 204 || status === 304;
    const hasLength = !noBody && te === '' && length >= 0;
    if (!noBody && !hasLength) {
      // chunked, or read-until-close: re-framed as chunked to an HTTP/1.1 client
      if (ex.clientMinor >= 1) { ex.resChunked = true; head += te !== '' ? `transfer-encoding: ${te}\r\n` : 'transfer-encoding: chunked\r\n'; } else ex.ds.endAfterFlush();
    }
    if (ex.clientClose) head += 'connection: close\r\n';
    else if (ex.clientMinor === 0) head += 'connection: keep-alive\r\n';
    ex.ds.push(Buffer.from(`${head}\r\n`, 'latin1'));
    if (ex.method === 'HEAD') return 1;
    if (hasLength && length >= BYPASS_MIN) { this.bodyLeft = length; return PAUSE; }
    return 0;
  }

  onBody(piece: Buffer): void {
    const ex = this.ex;
    if (ex === null) return;
    if (ex.resChunked) { ex.ds.push(chunkHead(piece.length)); ex.ds.push(piece); ex.ds.push(CRLF); } else ex.ds.push(piece);
  }

  onTrailers(fields: string[]): void {
    const ex = this.ex;
    if (ex !== null && ex.resChunked) { ex.resChunked = false; ex.ds.push(trailerBlock(fields)); }
  }

  onComplete(): void {
    if (this.interim) { this.interim = false; return; }
    const ex = this.ex;
    if (ex === null) return;
    if (ex.resChunked) ex.ds.push(LAST_CHUNK);
    ex.resDone = true;
    ex.ds.exchangeProgress();
  }

  /** Called when both directions of its exchange are done. */
  done(): void {
    this.ex = null;
    if (this.keepAlive && !this.socket.destroyed) this.pool.release(this);
    else this.socket.end();
  }

  start(ex: Exchange): void {
    this.ex = ex;
    this.keepAlive = true;
    this.bodyLeft = 0;
    ex.up = this;
    this.push(ex.head);
    const held = ex.held!;
    ex.held = null;
    for (const b of held) this.push(b);
    this.socket.resume();
  }
}

class Downstream extends Conn implements H1Handler {
  private readonly pool: Pool;
  private readonly parser: H1Parser;
  private readonly copyBodies: boolean;
  /** In order of arrival; [0] is on an upstream connection, the rest wait (pipelining). */
  private queue: Exchange[] = [];
  private failed = false;

  constructor(socket: net.Socket, pool: Pool, factory: ParserFactory, copyBodies: boolean) {
    super(socket);
    this.pool = pool;
    this.copyBodies = copyBodies;
    this.parser = factory('request', this);
    socket.on('drain', this.onDrain.bind(this));
    socket.on('error', () => { /* 'close' follows */ });
    socket.on('close', this.onClose.bind(this));
  }

  feeder(): net.Socket | null { return this.queue[0]?.up?.socket ?? null; }

  private onDrain(): void { this.queue[0]?.up?.socket.resume(); }

  onData(d: Buffer): void {
    if (this.failed) return;
    const err = this.consume(this.parser, d);
    if (err !== undefined) this.reject(err);
    flushAll();
  }

  protected bodyPiece(piece: Buffer): void { this.queue[this.queue.length - 1]?.toUpstream(piece, true); }

  private reject(_err: ParseError): void {
    // a malformed request: 400 when no response is owed on this connection; otherwise our 400
    // could not be told apart from the response in flight, so the connection is dropped
    this.failed = true;
    if (this.queue.length === 0) { this.push(BAD_REQUEST); this.endAfterFlush(); } else this.socket.destroy();
  }

  private onClose(): void {
    for (const ex of this.queue) if (ex.up !== null && !(ex.reqDone && ex.resDone)) { ex.up.ex = null; ex.up.socket.destroy(); }
    this.queue = [];
    this.parser.close();
  }

  onHead(minor: number, fields: string[], method: string, url: string, _s: number, _r: string, upgrade: boolean, keepAlive: boolean): number {
    if (this.failed) return 1;
    if (upgrade || method === 'CONNECT') {
      // production: hand the connection to the general path; the prototype refuses
      this.failed = true;
      if (this.queue.length === 0) { this.push(NOT_IMPLEMENTED); this.endAfterFlush(); } else this.socket.destroy();
      return 0;
    }
    const { text, te, length } = endToEndFields(fields);
    const chunked = te !== '';
    const head = Buffer.from(`${method} ${url} HTTP/1.1\r\n${text}${chunked ? `transfer-encoding: ${te}\r\n` : ''}\r\n`, 'latin1');
    const ex = new Exchange(this, method, head, chunked, !keepAlive, minor);
    this.queue.push(ex);
    if (this.queue.length === 1) this.pool.acquire().start(ex);
    else this.socket.pause(); // pipelined: hold this one until the one ahead is done
    if (!chunked && length >= BYPASS_MIN) { this.bodyLeft = length; return PAUSE; }
    return 0;
  }

  onBody(piece: Buffer): void {
    const ex = this.queue[this.queue.length - 1];
    if (ex === undefined || this.failed) return;
    if (ex.reqChunked) { ex.toUpstream(chunkHead(piece.length), false); ex.toUpstream(piece, this.copyBodies); ex.toUpstream(CRLF, false); } else ex.toUpstream(piece, this.copyBodies);
  }

  onTrailers(fields: string[]): void {
    const ex = this.queue[this.queue.length - 1];
    if (ex === undefined || this.failed) return;
    if (ex.reqChunked) { ex.toUpstream(trailerBlock(fields), false); ex.reqDone = true; }
  }

  onComplete(): void {
    const ex = this.queue[this.queue.length - 1];
    if (ex === undefined || this.failed) return;
    if (ex.reqChunked && !ex.reqDone) ex.toUpstream(LAST_CHUNK, false);
    ex.reqDone = true;
    if (ex === this.queue[0]) this.exchangeProgress();
  }

  /** Moves on when the head of the queue is done both ways. */
  exchangeProgress(): void {
    const ex = this.queue[0];
    if (ex === undefined || !ex.reqDone || !ex.resDone) return;
    this.queue.shift();
    ex.up?.done();
    if (ex.clientClose) { this.failed = true; this.queue = []; this.endAfterFlush(); return; }
    const next = this.queue[0];
    if (next !== undefined) this.pool.acquire().start(next);
    if (this.queue.length <= 1) this.socket.resume();
  }
}

export function startProxy(port: number, upstreamPort: number, factory: ParserFactory, copyBodies: boolean): net.Server {
  const pool = new Pool(upstreamPort, factory);
  // A net.Server cannot give accepted sockets `onread`; the accepted handle is re-wrapped in a
  // Socket that reads into one reused buffer (internal `_handle`: a prototype-only shortcut).
  return net.createServer({ pauseOnConnect: true }, (accepted) => {
    const a = accepted as unknown as { _handle: object | null };
    const handle = a._handle;
    a._handle = null;
    accepted.destroy();
    const target: { ds: Downstream | null } = { ds: null };
    const socket = new net.Socket({ handle, onread: { buffer: Buffer.allocUnsafe(READ_BUFFER), callback: (n: number, b: Uint8Array) => { target.ds!.onData(Buffer.from(b.buffer, b.byteOffset, n)); return true; } } } as net.SocketConstructorOpts);
    target.ds = new Downstream(socket, pool, factory, copyBodies);
    socket.resume();
  }).listen(port, '127.0.0.1');
}
