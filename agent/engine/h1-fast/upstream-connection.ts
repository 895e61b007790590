// One raw HTTP/1.1 connection to an upstream endpoint: a long-lived object whose bound methods
// are the socket's and the response parser's callbacks (nothing allocated per request but the
// lease). Plaintext sockets read into one reused buffer per connection; pieces handed to the
// sink may be views of it, so a read whose output is still queued downstream (`onReadDone`
// false) stops reading until the lease resumes, and the connection is reused only after that.
// Responses are parsed by llhttp (response mode, strict); Content-Length bodies of 16 KB and
// more skip the parser (paused after the head) and go out as slices of the read. The lease
// (upstream-lease.ts) is the request in flight; the pool (upstream-pool.ts) owns the rest.
import type net from 'node:net';
import { MeshletError } from '../../../api/errors.ts';
import { MESHLET_ALPN } from '../../../api/identity.ts';
import { relayGc } from '../relay-gc.ts';
import { isMutualTls, openSocket, readyEvent, UpstreamConnectError, type ConnectOptions, type Endpoint } from '../connect.ts';
import { LlhttpParser, PAUSE, SKIP_BODY, type H1Events } from './llhttp.ts';
import { describeResponse, type RawFields } from './response-head.ts';
import { quickResponse } from './response-quick.ts';
import { skipReadAhead } from './read-buffer.ts';
import { idleAllowanceMs } from './upstream-keep-alive.ts';
import { writeWatched } from './watched-write.ts';
import type { Lease } from './upstream-lease.ts';

/** Content-Length bodies at least this long bypass llhttp (ADR 0017: pausing costs an Error). */
export const BYPASS_MIN = 16 * 1024;
const READ_BUFFER = 64 * 1024;

/** What a connection needs from its pool (upstream-pool.ts). */
export interface ConnectionHome {
  readonly endpoint: Endpoint;
  readonly connect: ConnectOptions;
  readonly keepAliveMs: number;
  /** The exchange on `conn` is over and the connection may be reused (or was closed). */
  finished(conn: UpstreamConnection, reusable: boolean): void;
  /** The socket closed (whatever state it was in). */
  closed(conn: UpstreamConnection): void;
}

/** An upstream answered in a way the fast path cannot relay (a 101, a response nobody asked for). */
export class UpstreamProtocolError extends MeshletError {
  constructor(message: string) {
    super('E_UPSTREAM_PROTOCOL', message);
  }
}

/** The connection closed or failed before the response was complete. */
export class UpstreamClosedError extends MeshletError {
  constructor(message: string) {
    super('E_UPSTREAM_CLOSED', message);
  }
}

// Its per-exchange state is in TS-private fields, not #private ones (so is the lease's): the
// fast path's functions are Maglev-compiled after warm-up, and Maglev code calls V8's keyed IC
// (DefineKeyedOwnIC, KeyedStoreIC: ~70-100 instructions each) for every #field it defines or
// stores, a dozen per request on the response path (issue 16).
export class UpstreamConnection implements H1Events {
  readonly socket: net.Socket;
  readonly home: ConnectionHome;
  private parser: LlhttpParser;
  lease: Lease | null = null;
  ready = false;
  /** Exchanges completed on this connection: a lease on a used one may meet the keep-alive race. */
  served = 0;
  /** Monotonic ms after which an idle connection is not handed out (the upstream may close it). */
  idleUntil = 0;
  /** Monotonic ms when it last went idle (a long-idle one is checked a turn before a POST, ADR 0024). */
  idleAt = 0;
  private keepAlive = true;
  private idleMs = 0;
  private interim = false;
  private bodyLeft = 0;
  private failure: Error | null = null;
  /** A read's output is still queued downstream: reading stopped until the lease resumes. */
  private readHeld = false;
  /**
   * llhttp has read nothing on this connection yet, so it stands at a message's start: a whole
   * plain response in one read may be scanned without it (response-quick.ts). Once llhttp has
   * read a byte it reads every later one (it may hold part of a message).
   */
  private quick = true;
  /** The quick scan's field lines as bytes of the read being handled, during its onHead only. */
  private rawFields: RawFields | null = null;
  private needDrain = false;
  readonly #written = this.#onWritten.bind(this);

  constructor(home: ConnectionHome) {
    this.home = home;
    this.parser = new LlhttpParser('response', this);
    // a TLS socket decrypts into buffers of its own: no read buffer for it (held as long as the connection)
    const onread: net.OnReadOpts | null = isMutualTls(home.endpoint, home.connect) ? null : { buffer: Buffer.allocUnsafe(READ_BUFFER), callback: this.#onRead.bind(this) };
    this.socket = openSocket(home.endpoint, home.connect, MESHLET_ALPN.http1, null, onread);
    // TLS sockets (mesh mTLS) deliver decrypted data as 'data' events, each a fresh buffer freed
    // young like relayed bodies' (relay-gc.ts), without Readable's read-ahead tick after each;
    // plaintext ones call onread with the reused buffer
    this.socket.on('data', (data: Buffer) => {
      skipReadAhead(this.socket);
      relayGc.note(data.length);
      this.#onData(data);
    });
    this.socket.once(readyEvent(this.socket), this.#onReady.bind(this));
    this.socket.on('error', this.#onError.bind(this));
    this.socket.once('close', this.#onClose.bind(this));
  }

  #onReady(): void {
    this.ready = true;
    this.lease?.connected(this);
  }

  #onError(err: Error): void {
    // before the connection (and, for mTLS, the peer's identity) was ready: a connect failure
    this.failure ??= this.ready ? err : new UpstreamConnectError(this.home.endpoint, err);
  }

  #onRead(n: number, buf: Uint8Array): boolean {
    this.#onData(Buffer.from(buf.buffer, buf.byteOffset, n));
    return !this.readHeld;
  }

  #onData(data: Buffer): void {
    const lease = this.lease;
    if (lease === null) {
      // bytes on an idle connection answer nothing we asked: never reuse it
      this.socket.destroy();
      return;
    }
    if (!lease.responseBytes) lease.firstResponseBytes();
    // a refused head stops llhttp (PAUSE) and is reported through failure
    const err = this.#consume(data) ?? this.failure;
    if (err !== null) {
      if (!lease.responseDone) {
        lease.fail(this, err);
        return;
      }
      // bytes after a complete response that are no response: the answer stands, the connection goes
      this.failure = err;
    }
    if (this.lease !== lease) return;
    if (!lease.sink.onReadDone()) {
      this.readHeld = true;
      this.socket.pause();
      return;
    }
    lease.readReleased(this);
  }

  /** Parses a read; a large Content-Length body after a paused head is relayed as slices. */
  #consume(d: Buffer): Error | null {
    let data = d;
    while (data.length > 0) {
      if (this.lease === null) return null;
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, data.length);
        this.lease.sink.onResponseBody(n === data.length ? data : data.subarray(0, n));
        this.bodyLeft -= n;
        data = data.subarray(n);
        if (this.bodyLeft === 0) {
          // the parser stopped after the head: a fresh one reads the next message
          this.parser.close();
          this.parser = new LlhttpParser('response', this);
          this.onComplete();
        }
        continue;
      }
      if (this.quick) {
        const lease = this.lease;
        const q = lease.responseDone || this.interim || lease.req.method === 'HEAD' ? null : quickResponse(data, BYPASS_MIN);
        if (q !== null) {
          // what llhttp's callbacks would have said for these bytes (onHead answers 0 for them:
          // no upgrade, no HEAD, a body below the bypass)
          const body = q.bodyLength > 0 ? data.subarray(q.bodyStart) : null;
          // the field lines as bytes of this read, for the sink's onResponseHead only (onHead hands them on)
          if (q.runs !== null) this.rawFields = { src: data, runs: q.runs, count: q.runCount };
          this.onHead(1, 1, q.fields, '', '', q.status, q.reason, false, true);
          this.rawFields = null;
          if (body !== null) this.onBody(body);
          this.onComplete();
          return null;
        }
        this.quick = false;
      }
      const r = this.parser.execute(data);
      if (r.kind === 'error') return new UpstreamProtocolError(`invalid response from ${this.home.endpoint.address}:${this.home.endpoint.port}: ${r.error.code} ${r.error.reason}`);
      if (r.kind === 'ok') return null;
      // paused after a head: a large body follows, or the head was refused (below)
      if (this.failure !== null) return this.failure;
      if (this.bodyLeft === 0) return null; // a response nobody asked for: the rest is dropped, the connection not reused
      data = data.subarray(r.offset);
    }
    return null;
  }

  onHead(_major: number, _minor: number, fields: string[], _method: string, _target: string, status: number, reason: string, upgrade: boolean, keepAlive: boolean): number {
    const lease = this.lease;
    if (lease === null || lease.responseDone) {
      this.keepAlive = false;
      return PAUSE;
    }
    if (status === 101 || upgrade) {
      this.failure = new UpstreamProtocolError(`upstream answered ${status} with an upgrade to a request that asked for none`);
      this.keepAlive = false;
      return PAUSE;
    }
    const head = describeResponse(status, reason, fields, keepAlive, lease.req.method);
    head.raw = this.rawFields;
    if (status < 200) this.interim = true;
    else {
      this.keepAlive = head.keepAlive;
      this.idleMs = idleAllowanceMs(fields, this.home.keepAliveMs);
      if (this.idleMs === 0) this.keepAlive = false;
    }
    lease.responseStarted = true;
    lease.sink.onResponseHead(head);
    if (status >= 200 && lease.req.method === 'HEAD') return SKIP_BODY;
    if (head.framing.kind === 'length' && head.framing.length >= BYPASS_MIN) {
      this.bodyLeft = head.framing.length;
      return PAUSE;
    }
    return 0;
  }

  onBody(piece: Buffer): void {
    this.lease?.sink.onResponseBody(piece);
  }

  onTrailers(fields: string[]): void {
    this.lease?.trailers(fields);
  }

  onComplete(): void {
    if (this.interim) {
      this.interim = false;
      return;
    }
    this.lease?.responseComplete();
  }

  /** A lease takes this connection: it writes through `send` from now on. */
  attach(lease: Lease): void {
    this.lease = lease;
    this.keepAlive = true;
    this.bodyLeft = 0;
    this.readHeld = false;
    this.needDrain = false;
  }

  /** Writes request bytes; false when they stay queued (still referenced): wait for onRequestDrain. */
  send(a: Buffer, b: Buffer | null = null, c: Buffer | null = null): boolean {
    if (writeWatched(this.socket, this.#written, a, b, c)) return true;
    this.needDrain = true;
    return false;
  }

  #onWritten(): void {
    if (this.needDrain && this.socket.writableLength === 0) {
      this.needDrain = false;
      this.lease?.sink.onRequestDrain();
    }
  }

  pause(): void {
    this.socket.pause();
  }

  /** Reading may go on: the sink wrote what the last read produced, or asked to resume. */
  resume(): void {
    if (this.readHeld) {
      this.readHeld = false;
      this.lease?.readReleased(this);
    }
    if (this.lease !== null) this.socket.resume();
  }

  /** Both directions of the exchange are done: back to the pool, or closed (`reuse` false: the lease says so). */
  done(reuse = true): void {
    this.lease = null;
    this.served++;
    const reusable = reuse && this.keepAlive && this.ready && !this.socket.destroyed && this.failure === null;
    if (reusable) {
      this.idleAt = performance.now();
      this.idleUntil = this.idleAt + this.idleMs;
      this.socket.resume();
    } else this.socket.destroy();
    this.home.finished(this, reusable);
  }

  /** Detaches the lease and closes the socket (abandoned or failed exchange). */
  destroy(): void {
    this.lease = null;
    this.socket.destroy();
  }

  /** Whether the read that is being handled is still pending downstream. */
  get held(): boolean {
    return this.readHeld;
  }

  #onClose(): void {
    const lease = this.lease;
    if (lease !== null && !lease.responseDone) {
      // a body read until close ends here (llhttp completes it); anything else is truncated
      if (lease.responseStarted && this.failure === null && this.parser.finish().kind !== 'error' && lease.responseDone) {
        lease.sink.onReadDone();
        lease.closedAfterResponse(this);
      } else if (this.lease === lease) {
        const why = this.failure ?? (this.ready ? null : new UpstreamConnectError(this.home.endpoint, new Error('closed while connecting'))) ?? new UpstreamClosedError(`upstream ${this.home.endpoint.address}:${this.home.endpoint.port} closed the connection before the response was complete`);
        lease.lost(this, why);
      }
    }
    this.parser.close();
    this.home.closed(this);
  }
}
