// One request on the fast path's upstream side, from `send` to the end of its response: it
// waits for a connection (queued or connecting), writes the head and body with explicit
// back-pressure, frames chunks itself, and reports to its sink. It also holds what the
// keep-alive race needs: on a reused connection, a copy of every byte written (head, framed
// body, up to RESEND_LIMIT) until the first response byte, so a request that met a connection
// the upstream was closing is resent once on a new connection; beyond the limit nothing is
// held and the request is not resent (its body was streamed past what could be replayed). A
// response that completes before the request's end was written ends the lease there and closes
// the connection (the upstream still expects the rest of the body; nothing more is written).
import { chunkHeader, CRLF, lastChunk } from './chunked.ts';
import type { UpstreamConnection } from './upstream-connection.ts';
import type { FastRequest, UpstreamLease, UpstreamSink } from './upstream-types.ts';

/** Request bytes kept for a resend after the keep-alive race (the general path's retry body bound is 64 KB too). */
export const RESEND_LIMIT = 64 * 1024;

/** Methods a server must treat as safe to receive twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** What a lease needs from its pool (upstream-pool.ts). */
export interface LeaseHome {
  /** A new connection for this lease's resend (never an idle one: it could be stale too). */
  fresh(lease: Lease): void;
  /** The lease gave up while queued: leave the queue. */
  unqueue(lease: Lease): void;
}

// TS-private fields, not #private ones: one lease per request, and Maglev-compiled code calls
// V8's keyed IC for every #field defined or stored (upstream-connection.ts says more).
export class Lease implements UpstreamLease {
  readonly req: FastRequest;
  readonly sink: UpstreamSink;
  private readonly home: LeaseHome;
  conn: UpstreamConnection | null = null;
  /** Pieces written before the connection was ready, held by reference (write returned false). */
  private pending: Buffer[] | null = null;
  /** Everything written on a reused connection, for one resend; null when not resendable. */
  private copy: Buffer[] | null = null;
  private copyBytes = 0;
  private trailerFields: string[] = [];
  requestEnded = false;
  responseStarted = false;
  /** Any byte of a response arrived: from here a resend could duplicate the request. */
  responseBytes = false;
  responseDone = false;
  private resent = false;
  /** The response completed before the request's end was written: the connection is not reused. */
  private unfinished = false;
  settled = false;
  /** The queue-wait timer while queued. */
  timer: NodeJS.Timeout | null = null;
  /** performance.now() when it queued (the pool opens a connection for it after reuseWaitMs). */
  queuedAt = 0;

  constructor(home: LeaseHome, req: FastRequest, sink: UpstreamSink) {
    this.home = home;
    this.req = req;
    this.sink = sink;
  }

  /** Starts on `conn`: writes at once when it is ready, else when it connects. */
  take(conn: UpstreamConnection): void {
    this.conn = conn;
    conn.attach(this);
    this.copy = conn.served > 0 && IDEMPOTENT.has(this.req.method) && !this.resent ? [this.req.head] : null;
    this.copyBytes = this.req.head.length;
    if (conn.ready) this.connected(conn);
    else this.pending ??= [];
  }

  /** The connection is ready: the head and any pieces held go out in one write. */
  connected(conn: UpstreamConnection): void {
    if (this.conn !== conn) return;
    if (this.pending === null && this.resendBytes === null) {
      // the common case, a ready (reused) connection: the head alone, no list to build
      conn.send(this.req.head);
      return;
    }
    const pending = this.pending ?? [];
    this.pending = null;
    const first = this.resendBytes ?? [this.req.head];
    const resend = this.resendBytes !== null;
    this.resendBytes = null;
    const out = pending.length === 0 ? first : [...first, ...pending];
    const drained = conn.send(out.length === 1 ? out[0]! : Buffer.concat(out));
    // pieces held by reference are written (copied by concat), and a resend may follow a write
    // the caller still waits on: it may read again (else the connection's drain says so later)
    if (drained && (pending.length > 0 || resend)) this.sink.onRequestDrain();
  }

  write(piece: Buffer): boolean {
    if (this.settled || this.requestEnded || piece.length === 0) return true;
    const chunked = this.req.framing.kind === 'chunked';
    const conn = this.conn;
    if (conn === null || !conn.ready) {
      const pending = (this.pending ??= []);
      if (chunked) pending.push(chunkHeader(piece.length), piece, CRLF);
      else pending.push(piece);
      return false;
    }
    if (this.copy !== null) this.#keep(chunked ? [chunkHeader(piece.length), Buffer.from(piece), CRLF] : [Buffer.from(piece)]);
    return chunked ? conn.send(chunkHeader(piece.length), piece, CRLF) : conn.send(piece);
  }

  end(trailers: readonly string[] = []): void {
    if (this.settled || this.requestEnded) return;
    this.requestEnded = true;
    if (this.req.framing.kind === 'chunked') {
      const last = lastChunk(trailers);
      const conn = this.conn;
      if (conn === null || !conn.ready) (this.pending ??= []).push(last);
      else {
        if (this.copy !== null) this.#keep([last]);
        conn.send(last);
      }
    }
    if (this.responseDone && this.conn !== null && !this.conn.held) this.#finish();
  }

  #keep(pieces: Buffer[]): void {
    for (const p of pieces) this.copyBytes += p.length;
    if (this.copyBytes > RESEND_LIMIT) this.copy = null;
    else for (const p of pieces) this.copy!.push(p);
  }

  pause(): void {
    this.conn?.pause();
  }

  resume(): void {
    this.conn?.resume();
  }

  destroy(): void {
    if (this.settled) return;
    this.settled = true;
    this.#clearTimer();
    this.home.unqueue(this);
    const conn = this.conn;
    this.conn = null;
    conn?.destroy();
  }

  trailers(fields: string[]): void {
    this.trailerFields = fields;
  }

  /** From the first response byte a resend could duplicate the request: the copy goes. */
  firstResponseBytes(): void {
    this.responseBytes = true;
    this.copy = null;
  }

  /** The response is complete; the connection is reused once the read is released and the request ended. */
  responseComplete(): void {
    if (this.responseDone) return;
    this.responseDone = true;
    this.copy = null;
    if (!this.requestEnded) {
      // Answered before the request's end was written (an upstream that answers on the head,
      // like nginx's `return 200`, or an early 401/413): the sink writes nothing more once it has
      // its answer, so waiting for the request's end held the connection, counted active, for
      // good (issue 16's leak, ADR 0020). The request ends here, unfinished, and the connection
      // is closed rather than reused (the upstream still expects the rest of the body), as
      // undici's client does ('Response completed before request': the socket is destroyed).
      this.requestEnded = true;
      this.unfinished = true;
    }
    const t = this.trailerFields;
    this.trailerFields = [];
    this.sink.onResponseEnd(t);
  }

  /** The read that ran is no longer referenced downstream. */
  readReleased(conn: UpstreamConnection): void {
    if (this.conn === conn && this.responseDone && this.requestEnded) this.#finish();
  }

  #finish(): void {
    const conn = this.conn!;
    this.conn = null;
    this.settled = true;
    conn.done(!this.unfinished);
  }

  /** The connection closed after the response ended (read until close): nothing more to do. */
  closedAfterResponse(conn: UpstreamConnection): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.settled = true;
  }

  /** Bytes to write first on the fresh connection of a resend. */
  private resendBytes: Buffer[] | null = null;

  /** The connection closed before the response was complete. */
  lost(conn: UpstreamConnection, err: Error): void {
    if (this.conn !== conn || this.settled) return;
    const copy = this.copy;
    if (copy !== null && !this.responseBytes && !this.resent) {
      // the keep-alive race: nothing of a response was read on a reused connection
      this.resent = true;
      this.copy = null;
      this.conn = null;
      conn.destroy();
      this.resendBytes = copy;
      this.home.fresh(this);
      return;
    }
    this.fail(conn, err);
  }

  /** The exchange failed (connect error, invalid response, lost connection, queue wait). */
  fail(conn: UpstreamConnection | null, err: Error): void {
    if (this.settled || (conn !== null && this.conn !== conn)) return;
    this.settled = true;
    this.#clearTimer();
    this.conn = null;
    conn?.destroy();
    this.sink.onUpstreamError(err, this.responseStarted);
  }

  #clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Leaves the queue for a connection (the timer is no longer needed). */
  dequeued(): void {
    this.#clearTimer();
  }
}
