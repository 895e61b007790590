// The fast path's downstream connection (ADR 0017, production version of
// bench/prototypes/h1-raw/proxy.ts): one object per client connection, whose methods are the
// socket's and llhttp's callbacks, so a request costs one Exchange and its heads, no
// IncomingMessage, ServerResponse, EventEmitter or closure. Reads go into one reused buffer
// (read-buffer.ts) when the socket allows it; everything a read produces for the client is
// written once at the end of that read.
//
// One exchange at a time: a pipelined request's head stops the parser (PAUSE) and waits,
// copied, until the one before it is answered. A request the fast path does not take (upgrades,
// Expect, mirrors, … — request-head.ts, engine-bridge.ts) is handed to the general path at head
// time, only when nothing is in flight: the head re-serialised (writeReceivedHead) and the rest
// of the read go back into the socket, and node:http serves the connection from there on.
// Content-Length bodies of 16 KB or more bypass the parser (relayed as views of the read buffer,
// then a fresh parser for the next message), unless kept for a retry.
//
// The general path's limits hold here too: a request head must arrive within the headers
// timeout (else 408 and close, the slowloris bound), heads are capped at 16 KB by llhttp (431),
// an idle kept-alive connection closes after the keep-alive timeout, a malformed request gets
// node:http's 400 and the connection closes; a parse error after a request was dispatched
// (a bad chunk) abandons the upstream request, then answers 400 if nothing was answered yet,
// else resets the connection.
import type net from 'node:net';
import { clientError } from '../rejection.ts';
import { relayGc } from '../relay-gc.ts';
import type { ProxyCore } from '../core.ts';
import type { HttpSite } from '../http-handler.ts';
import { Exchange, type ExchangeHost } from './connection-exchange.ts';
import { parseErrorBytes, REQUEST_TIMEOUT } from './downstream-answer.ts';
import { decide, refusedEvent, type Admission } from './engine-bridge.ts';
import { keepAliveFields, writeReceivedHead } from './head-writer.ts';
import { LlhttpParser, PAUSE, type H1Events, type LlhttpError } from './llhttp.ts';
import { adoptReadBuffer, skipReadAhead, type ReadSink } from './read-buffer.ts';
import { writeWatched } from './watched-write.ts';
import { describeRequest } from './request-head.ts';
import { quickRequest, type QuickRequest } from './request-quick.ts';
import type { FastUpstreamPool, UpstreamLease } from './upstream-types.ts';

/** Content-Length bodies at least this long bypass the parser (a pause costs llhttp an Error). */
export const BYPASS_MIN = 16 * 1024;

export interface FastConnectionOptions {
  core: ProxyCore;
  site: HttpSite;
  pool: FastUpstreamPool;
  remoteAddress: string;
  /** The listener's per-request refusal (inbound authorization); 'fallback' lets the general path answer. */
  admit?: () => Admission | 'fallback' | null;
  /** Fields the site removes from every request (lower case), left out before its decoration (engine-bridge.ts). */
  strip?: readonly string[];
  /** Hands the connection to the general path with `replay` to be read first. */
  fallback: (socket: net.Socket, replay: Buffer) => void;
  /** The socket serving the connection changed (re-wrapped for the reused read buffer). */
  adopted?: (socket: net.Socket) => void;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  draining: () => boolean;
}

interface ParkedHead { major: number; minor: number; fields: string[]; method: string; target: string; upgrade: boolean; keepAlive: boolean }

export class FastConnection implements H1Events, ReadSink, ExchangeHost {
  socket: net.Socket;
  readonly #opts: FastConnectionOptions;
  #parser: LlhttpParser;
  #handOff: (() => void) | null = null;
  #out: Buffer[] = [];
  /** The exchange whose request or response is not done yet. */
  #busy: Exchange | null = null;
  /** The exchange whose request body is being parsed (null once complete). */
  #reading: Exchange | null = null;
  #parked: ParkedHead | null = null;
  #rest: Buffer | null = null;
  #pause: 'park' | 'fallback' | 'bypass' | 'stop' | null = null;
  #fallbackHead: Buffer | null = null;
  #bodyLeft = 0;
  /**
   * llhttp has not been given a byte since it was made: a read that holds one whole plain request
   * may be scanned without it (request-quick.ts). Once llhttp has read something it may hold part
   * of a message, so it reads everything after, until a bypassed body ends at a known boundary
   * and a fresh parser takes over.
   */
  #quick = true;
  #readBlocked = false;
  #writeBlocked = false;
  #stopped = false;
  #closeAfterFlush = false;
  /** Bytes of a head arrived and the head is not complete: the headers timeout runs. */
  #inHead = false;
  #timer: NodeJS.Timeout | null = null;
  readonly #written = this.#onWritten.bind(this);
  readonly keepAliveLine: string;
  readonly inbound: boolean;

  constructor(socket: net.Socket, opts: FastConnectionOptions) {
    this.#opts = opts;
    this.keepAliveLine = keepAliveFields(opts.keepAliveTimeoutMs);
    this.inbound = opts.site.kind === 'inbound';
    this.#parser = new LlhttpParser('request', this);
    const adopted = adoptReadBuffer(socket, this);
    let buffered: Buffer[] = [];
    if (adopted !== null) {
      this.socket = adopted.socket;
      this.#handOff = adopted.handOff;
      buffered = adopted.buffered;
      opts.adopted?.(adopted.socket);
    } else {
      this.socket = socket;
      socket.on('data', this.#onData);
    }
    this.socket.setNoDelay(true);
    this.socket.on('error', this.#onError);
    this.socket.on('close', this.#onClose);
    this.socket.on('end', this.#onEnd);
    this.#arm('idle');
    for (const b of buffered) if (!this.#stopped) this.onRead(b);
    if (!this.#stopped && !this.#readBlocked) this.socket.resume();
  }

  // Ordinary reads (TLS, or no re-wrap): each chunk is a fresh buffer, freed young like relayed
  // bodies' (relay-gc.ts), without Readable's read-ahead tick after each (read-buffer.ts); the
  // reused read buffer needs none of that.
  readonly #onData = (chunk: Buffer): void => {
    skipReadAhead(this.socket);
    relayGc.note(chunk.length);
    if (!this.onRead(chunk) && !this.#handedOver) this.socket.pause();
  };

  /** The connection went to the general path: its reading is node:http's business now. */
  #handedOver = false;

  readonly #onError = (): void => { /* 'close' follows */ };

  readonly #onEnd = (): void => {
    // A client that sends FIN with a request open is gone, as on the general path (issue 15):
    // its upstream request is abandoned rather than left running for nobody.
    if (this.#stopped) return;
    const ex = this.#busy;
    this.#busy = null;
    this.#reading = null;
    ex?.abort('client closed the connection');
    this.#stop();
    if (ex === null) this.socket.end();
    else this.socket.destroy();
  };

  readonly #onClose = (): void => {
    if (this.#handedOver) return;
    this.#stop();
    this.#busy?.abort('downstream closed before the response completed');
    this.#busy = null;
    // nothing left to bound: the timer #stop kept for that exchange goes too
    this.#requestEx = null;
    this.#stop();
    // nothing queued for this client is referenced any more: their connections may go on
    const leases = this.#waitingLeases;
    this.#waitingLeases = [];
    for (const l of leases) l.resume();
  };

  #stop(): void {
    if (!this.#stopped) {
      this.#stopped = true;
      // never inside one of its own callbacks
      const parser = this.#parser;
      queueMicrotask(() => parser.close());
    }
    // No more reads; but an exchange whose answer is still on its way (bad bytes after a complete
    // request: #parseError) keeps its bounds, the request deadline and the stream-idle sampling,
    // or a client could pin an upstream for ever by sending garbage after a request.
    if (this.#busy === null && this.#requestEx === null) {
      this.#kind = null;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
    } else if (this.#kind !== 'stream') this.#kind = null;
  }

  /** The timer still has work: reading goes on, or a stopped connection's exchange is unanswered. */
  #timed(): boolean {
    return !this.#stopped || this.#busy !== null;
  }

  // ---- timeouts ----
  //
  // One deadline per connection (the idle keep-alive, the head, or the next stream-idle sample),
  // plus the exchange's default request timeout, and one timer that fires at or before the
  // earlier of them. Re-arming only moves a deadline: the timer is left alone while it fires no
  // later than the new deadline, and when it fires early it is set again for what remains. A
  // keep-alive connection thus arms no timer per request (it armed three, each a Timeout object
  // and a closure), only about one per timeout period.

  #kind: 'idle' | 'head' | 'stream' | null = null;
  /** performance.now() at which #kind's timeout is due. */
  #deadline = 0;
  /** performance.now() at which #timer fires (0: none). */
  #timerAt = 0;

  /**
   * performance.now() read at most once per client read: a request that came whole sets its
   * stream deadline at the head and its default request deadline at the body's end, both in the
   * same read, from one clock read instead of two (~0.7 k instructions each; issue 16). Outside a
   * read (timers, the upstream's callbacks) the clock is read each time.
   */
  #readClock = 0;
  #inRead = false;

  #now(): number {
    if (!this.#inRead) return performance.now();
    if (this.#readClock === 0) this.#readClock = performance.now();
    return this.#readClock;
  }

  #arm(kind: 'idle' | 'head' | 'stream'): void {
    const now = this.#now();
    let ms: number;
    if (kind === 'idle') ms = this.#opts.keepAliveTimeoutMs;
    else if (kind === 'head') ms = this.#opts.headersTimeoutMs;
    else {
      // stream-idle.ts's rule: no byte either way for the stream idle timeout ends the exchange;
      // progress is sampled a quarter of the timeout apart
      const idle = this.#opts.core.streamIdleTimeoutMs;
      if (idle === null) {
        this.#kind = null;
        return;
      }
      // the first sample records the byte count and counts as progress (reading the socket's
      // counters here, per request, cost more than the rest of the re-arm): an exchange thus
      // ends between one and one and a half timeouts after its last byte
      this.#progress = -1;
      this.#quietSince = now;
      ms = Math.max(Math.floor(idle / 4), 10);
    }
    this.#kind = kind;
    this.#deadline = now + ms;
    if (this.#timer === null || this.#timerAt > this.#deadline) this.#schedule(now, ms);
  }

  #schedule(now: number, ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#onTimer, ms);
    this.#timer.unref();
    this.#timerAt = now + ms;
  }

  /** The exchange whose default request timeout runs (ExchangeHost), and when it runs out. */
  #requestEx: Exchange | null = null;
  #requestDeadline = 0;

  armRequestDeadline(ex: Exchange, ms: number): void {
    const now = this.#now();
    this.#requestEx = ex;
    this.#requestDeadline = now + ms;
    if (this.#timed() && (this.#timer === null || this.#timerAt > this.#requestDeadline)) this.#schedule(now, ms);
  }

  clearRequestDeadline(ex: Exchange): void {
    // the timer stays: firing early, it is set again for what is left (#rearm)
    if (this.#requestEx === ex) this.#requestEx = null;
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    if (!this.#timed()) {
      this.#requestEx = null;
      return;
    }
    const now = performance.now();
    // libuv's clock is the loop's cached time: a timer may fire up to a millisecond early
    const ex = this.#requestEx;
    if (ex !== null && now >= this.#requestDeadline - 1) {
      this.#requestEx = null;
      ex.defaultTimedOut();
      if (!this.#timed()) return;
    }
    if (this.#kind !== null && now >= this.#deadline - 1) {
      if (this.#kind === 'idle') this.socket.destroy();
      else if (this.#kind === 'head') this.#headTimedOut();
      else this.#sampleIdle(now);
      // a request deadline still pending keeps a timer whatever that did with the connection's
      if (this.#timer === null && this.#timed()) this.#rearm(now);
      return;
    }
    this.#rearm(now);
  };

  /** Sets the timer for the earlier of the connection's deadline and the request's, if any. */
  #rearm(now: number): void {
    let due = this.#kind !== null ? this.#deadline : Infinity;
    if (this.#requestEx !== null && this.#requestDeadline < due) due = this.#requestDeadline;
    if (due !== Infinity) this.#schedule(now, Math.max(0, due - now));
  }

  #progress = 0;
  #quietSince = 0;

  #sampleIdle(now: number): void {
    const ex = this.#busy;
    const ms = this.#opts.core.streamIdleTimeoutMs;
    if (ex === null || ms === null) return;
    const bytes = this.socket.bytesRead + this.socket.bytesWritten;
    if (bytes !== this.#progress) {
      this.#progress = bytes;
      this.#quietSince = now;
    } else if (now - this.#quietSince >= ms) {
      this.#kind = null;
      this.#busy = null;
      this.#reading = null;
      ex.idleTimeout();
      this.#stop();
      this.flush();
      this.socket.end();
      return;
    }
    const step = Math.max(Math.floor(ms / 4), 10);
    this.#deadline = now + step;
    this.#rearm(now);
  }

  #headTimedOut(): void {
    this.#kind = null;
    if (this.#stopped || this.#busy !== null) return;
    this.#stop();
    this.socket.end(REQUEST_TIMEOUT);
  }

  // ---- reading ----

  onRead(chunk: Buffer): boolean {
    if (this.#stopped) return false;
    let headBegins = false;
    if (!this.#inHead && this.#bodyLeft === 0 && this.#reading === null && chunk.length > 0) {
      // the first bytes of a head; pipelined behind a busy exchange, its timer starts when that ends
      this.#inHead = true;
      headBegins = this.#busy === null;
    }
    this.#inRead = true;
    this.#readClock = 0;
    try {
      this.#consume(chunk);
      // A head begun in this read and still incomplete at its end starts the headers timeout then;
      // one that came whole (nearly every request) never needs it: the stream timeout replaced it
      // at #startHead, and arming it first was a clock read and a deadline on the request's way.
      if (headBegins && this.#inHead && this.#busy === null && !this.#stopped) this.#arm('head');
      this.#reading?.endOfRead();
    } finally {
      this.#inRead = false;
    }
    if (!this.#stopped) this.flush();
    return this.#handedOver || (!this.#readBlocked && !this.#stopped);
  }

  #consume(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && !this.#stopped) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, data.length);
        this.#bodyLeft -= n;
        const ex = this.#reading;
        ex?.onRequestBody(n === data.length ? data : data.subarray(0, n), true);
        data = data.subarray(n);
        if (this.#bodyLeft === 0) {
          // llhttp still expects this body: the next message gets a fresh parser
          const old = this.#parser;
          queueMicrotask(() => old.close());
          this.#parser = new LlhttpParser('request', this);
          this.#quick = true;
          this.onComplete();
        }
        continue;
      }
      if (this.#parked !== null) {
        this.#rest = this.#rest === null ? Buffer.from(data) : Buffer.concat([this.#rest, data]);
        this.blockReads();
        return;
      }
      if (this.#quick) {
        // a request arriving while another is in flight is llhttp's (it parks there)
        const q = this.#busy === null ? quickRequest(data, BYPASS_MIN) : null;
        if (q !== null) {
          this.#quickRead(data, q);
          return;
        }
        this.#quick = false;
      }
      const r = this.#parser.execute(data);
      if (r.kind === 'error') {
        this.#parseError(r.error);
        return;
      }
      // an upgrade head that ends the read stops llhttp by itself: it reports the whole read
      // parsed, not a pause, so the pause we asked for is read from #pause
      if (r.kind === 'ok' && this.#pause === null) return;
      const rest = r.kind === 'ok' ? data.subarray(data.length) : data.subarray(r.offset);
      const why = this.#pause;
      this.#pause = null;
      if (why === 'bypass') {
        data = rest;
        continue;
      }
      if (why === 'park') {
        if (rest.length > 0) this.#rest = Buffer.from(rest);
        this.blockReads();
        return;
      }
      if (why === 'fallback') {
        this.#toGeneralPath(rest);
        return;
      }
      // 'stop' (refused), or llhttp stopped by itself (upgrade/CONNECT after a PAUSE we did not ask)
      return;
    }
  }

  /** What llhttp's callbacks would have said for `data`, one whole plain request (`q`), in their order. */
  #quickRead(data: Buffer, q: QuickRequest): void {
    const bodyStart = q.bodyStart;
    const bodyLength = q.bodyLength;
    if (this.onHead(1, 1, q.fields, q.method, q.target, 0, '', false, true) === PAUSE) {
      const why = this.#pause;
      this.#pause = null;
      if (why === 'fallback') this.#toGeneralPath(data.subarray(bodyStart));
      else {
        // refused ('stop'): llhttp would stay paused after this head and ignore what follows.
        // Defensive: a refusal answers 400 with Connection: close, so the connection stops
        // reading anyway (the test of it passes without this pause); kept so that a refusal
        // that one day keeps the connection cannot let llhttp read the rest as a new request.
        this.#quick = false;
        this.#parser.pause();
      }
      return;
    }
    // the body is a view of this read (relayed before the next one, or copied if kept), as a bypassed body's
    if (bodyLength > 0) this.#reading?.onRequestBody(data.subarray(bodyStart), true);
    this.onComplete();
  }

  onHead(major: number, minor: number, fields: string[], method: string, target: string, _s: number, _r: string, upgrade: boolean, keepAlive: boolean): number {
    if (this.#busy !== null) {
      // pipelined: this one waits until the exchange before it is answered
      this.#parked = { major, minor, fields, method, target, upgrade, keepAlive };
      this.#pause = 'park';
      return PAUSE;
    }
    return this.#startHead(major, minor, fields, method, target, upgrade, keepAlive);
  }

  #startHead(major: number, minor: number, fields: string[], method: string, target: string, upgrade: boolean, keepAlive: boolean): number {
    this.#inHead = false;
    this.#arm('stream');
    const d = describeRequest(major, minor, fields, method, target, upgrade, keepAlive);
    if (d.kind === 'fallback' || (d.kind === 'fast' && this.#opts.draining())) {
      this.#fallbackHead = writeReceivedHead(major, minor, method, target, fields);
      this.#pause = 'fallback';
      return PAUSE;
    }
    const o = this.#opts;
    if (d.kind === 'reject') {
      const refused = { method, target, versionMinor: minor, host: '', framing: { kind: 'none' } as const, lengthField: '', keepAlive: false, fields: [] };
      const ex = new Exchange(this, o.core, refused, refusedEvent(o.site, refused, o.remoteAddress), null, null);
      o.core.logger.info(`rejected ${method} ${target}`, { status: 400, reason: d.reason });
      this.#busy = ex;
      ex.reqDone = true;
      this.#pause = 'stop';
      ex.respond(clientError(400, d.reason), {}, true);
      return PAUSE;
    }
    // a body of known length (or none): its end is counted by the parser wrapper, not reported
    // by llhttp's message-complete callback (llhttp.ts completeAfter)
    const framing = d.head.framing;
    if (framing.kind !== 'chunked') this.#parser.completeAfter(framing.kind === 'length' ? framing.length : 0);
    const decision = decide(o.core, o.site, d.head, o.remoteAddress, o.admit, o.strip);
    if (decision.kind === 'fallback') {
      this.#fallbackHead = writeReceivedHead(major, minor, method, target, fields);
      this.#pause = 'fallback';
      return PAUSE;
    }
    const ex = new Exchange(this, o.core, d.head, decision.ev, decision.kind === 'forward' ? decision.plan : null, o.pool);
    this.#busy = ex;
    this.#reading = ex;
    if (decision.kind === 'respond') ex.respond(decision.rejection, decision.headers, decision.close);
    else ex.forward();
    if (framing.kind === 'length' && framing.length >= BYPASS_MIN && ex.streamsBody && !this.#stopped) {
      this.#bodyLeft = framing.length;
      this.#pause = 'bypass';
      return PAUSE;
    }
    return 0;
  }

  onBody(piece: Buffer): void {
    // llhttp's body pieces are copies (the binding's Buffer::Copy)
    this.#reading?.onRequestBody(piece, false);
  }

  onTrailers(fields: string[]): void {
    this.#pendingTrailers = fields;
  }

  #pendingTrailers: string[] = [];

  onComplete(): void {
    const ex = this.#reading;
    this.#reading = null;
    const trailers = this.#pendingTrailers;
    this.#pendingTrailers = [];
    ex?.onRequestEnd(trailers);
  }

  #parseError(err: LlhttpError): void {
    const ex = this.#busy;
    if (ex !== null && !ex.reqDone) {
      // llhttp found the fault after the head went upstream (a bad chunk): abandon that request
      ex.abort(`malformed request body: ${err.code}`);
      this.#busy = null;
      this.#reading = null;
      if (!ex.answered) {
        this.#stop();
        this.push(parseErrorBytes(err.code));
        this.flush();
        this.socket.end();
      } else this.destroy();
      return;
    }
    this.#stop();
    if (ex !== null) {
      // the bad bytes follow a request whose answer is still on its way: send it, then close
      this.#closeAfterFlush = true;
      ex.closeAfter = true;
      this.#afterBusy = parseErrorBytes(err.code);
      return;
    }
    this.push(parseErrorBytes(err.code));
    this.flush();
    this.socket.end();
  }

  #afterBusy: Buffer | null = null;

  #toGeneralPath(rest: Buffer): void {
    const replay = Buffer.concat([this.#fallbackHead!, rest]);
    this.#fallbackHead = null;
    this.#handedOver = true;
    this.#stop();
    this.flush();
    this.socket.off('data', this.#onData);
    this.socket.off('error', this.#onError);
    this.socket.off('close', this.#onClose);
    this.socket.off('end', this.#onEnd);
    this.#handOff?.();
    this.socket.pause();
    this.#opts.fallback(this.socket, replay);
  }

  // ---- ExchangeHost ----

  push(b: Buffer): void {
    this.#out.push(b);
  }

  flush(): boolean {
    const n = this.#out.length;
    if (n === 0) return !this.#writeBlocked;
    const data = n === 1 ? this.#out[0]! : Buffer.concat(this.#out);
    this.#out.length = 0; // emptied for the next read, not replaced (concat copied; a lone buffer is written as it is)
    if (this.socket.destroyed) return true;
    // what is still queued may reference an upstream read buffer: that side waits for the write
    if (!writeWatched(this.socket, this.#written, data)) this.#writeBlocked = true;
    return !this.#writeBlocked;
  }

  #onWritten(): void {
    if (!this.#writeBlocked || this.socket.writableLength > 0) return;
    this.#writeBlocked = false;
    const leases = this.#waitingLeases;
    this.#waitingLeases = [];
    for (const l of leases) l.resume();
  }

  #waitingLeases: UpstreamLease[] = [];

  resumeWhenWritten(lease: UpstreamLease): void {
    if (!this.#writeBlocked) lease.resume();
    else this.#waitingLeases.push(lease);
  }

  blockReads(): void {
    if (this.#readBlocked) return;
    this.#readBlocked = true;
    this.socket.pause();
  }

  unblockReads(): void {
    if (!this.#readBlocked || this.#parked !== null || this.#stopped) return;
    this.#readBlocked = false;
    this.socket.resume();
  }

  destroy(): void {
    this.#stop();
    this.socket.destroy();
  }

  draining(): boolean {
    return this.#opts.draining();
  }

  /** Drain: an idle connection (no exchange, no head under way) closes now; a busy one after its exchange. */
  closeIdle(): void {
    if (this.#stopped) return;
    if (this.#busy === null && !this.#inHead) {
      this.#stop();
      this.socket.end();
    } else this.#closeAfterFlush = true;
  }

  exchangeDone(ex: Exchange): void {
    if (this.#busy !== ex) return;
    this.#busy = null;
    if (this.#reading === ex) this.#reading = null;
    if (this.#afterBusy !== null) this.push(this.#afterBusy);
    if (ex.closeAfter || this.#closeAfterFlush || this.#stopped) {
      this.#stop();
      this.flush();
      this.socket.end();
      return;
    }
    // a pipelined head already begun keeps the head timeout, not the idle one
    this.#arm(this.#inHead && this.#parked === null ? 'head' : 'idle');
    const parked = this.#parked;
    if (parked === null) {
      this.unblockReads();
      return;
    }
    // the next request waited behind this one; it starts once the upstream callback that ended
    // this exchange returned (so its connection is back in the pool first)
    queueMicrotask(() => this.#resumeParked(parked));
  }

  #resumeParked(p: ParkedHead): void {
    if (this.#stopped) return;
    this.#parked = null;
    const rest = this.#rest;
    this.#rest = null;
    const r = this.#startHead(p.major, p.minor, p.fields, p.method, p.target, p.upgrade, p.keepAlive);
    if (r === PAUSE) {
      const why = this.#pause;
      this.#pause = null;
      if (why === 'fallback') {
        this.#toGeneralPath(rest ?? Buffer.alloc(0));
        return;
      }
      // 'bypass': the body is relayed before the (paused) parser sees bytes again
      if (why === 'stop') {
        this.flush();
        return;
      }
    } else this.#parser.resume();
    if (rest !== null) this.#consume(rest);
    this.#reading?.endOfRead();
    if (!this.#stopped) {
      this.flush();
      this.unblockReads();
    }
  }
}
