// The contract between the fast path's downstream side (the connection handler, which parses
// the client's request and writes the answer) and its upstream side (upstream-pool.ts: raw
// connections per endpoint, opened through connect.ts so mTLS, ALPN and peer checks are the
// general path's). One request is one `UpstreamLease` handed out by `FastUpstreamPool.send`;
// the pool answers through the `UpstreamSink` the caller passes, an object that lives as long as
// the exchange (no closure, promise or EventEmitter per request). Back-pressure is explicit in
// both directions because buffers may be reused: a piece handed over stays referenced until the
// other side says it is written, so neither side reads again before that.
import type { Endpoint } from '../connect.ts';
import type { Framing } from './request-head.ts';
import type { ResponseHead } from './response-head.ts';

/** One request as the upstream side needs it; the head is already serialised. */
export interface FastRequest {
  /** The method: HEAD responses carry no body, and only idempotent methods are resent. */
  method: string;
  /** The whole request head from `writeRequestHead` (the pool adds nothing to it). */
  head: Buffer;
  /** The framing written in `head`: `write` frames chunks itself when it is chunked. */
  framing: Framing;
}

/**
 * What the pool tells the exchange. Calls come synchronously from the upstream socket's reads;
 * after the last call of one read comes `onReadDone`, so the caller can write everything one
 * read produced in one `write` (the measured prototype's "one write per read").
 */
export interface UpstreamSink {
  /**
   * The response head, framing already read (`describeResponse`). `status < 200` is an interim
   * response (100, 103): forward it, the final head follows. Never 101: upgrades fall back.
   */
  onResponseHead(head: ResponseHead): void;
  /**
   * A piece of the response body, chunk framing removed. It may be a view of the connection's
   * reused read buffer: valid until `onReadDone` returns true, or until `lease.resume()` after
   * it returned false. Copy it to keep it longer.
   */
  onResponseBody(piece: Buffer): void;
  /**
   * The response is complete (trailers [name, value, …], empty when none); `onReadDone` still
   * follows for this read. Once the request was ended too (`lease.end`) and the read released,
   * the connection goes back to the pool by itself (or is closed, when the upstream asked for
   * that), so no release call exists to be forgotten.
   */
  onResponseEnd(trailers: string[]): void;
  /**
   * The end of one read. Return false while what it produced is still queued downstream (it
   * may reference the read buffer): the pool stops reading, and does not reuse the connection
   * even after `onResponseEnd`, until `lease.resume()`.
   */
  onReadDone(): boolean;
  /**
   * Every request byte written so far has left this process: `write` may be called again.
   * May come when nothing waits for it (after a resend); treat it as "reading may go on".
   */
  onRequestDrain(): void;
  /**
   * The exchange failed; the connection is already destroyed and nothing more is called.
   * `responseStarted`: a response head (interim ones included) was delivered, so the client
   * has seen something and the request must not be retried. A connect failure is
   * `UpstreamConnectError` (503 on the general path); a stale keep-alive connection was already
   * retried once by the pool when that was safe (see `FastUpstreamPool`).
   */
  onUpstreamError(err: Error, responseStarted: boolean): void;
}

/** One request in flight on one upstream connection (or waiting for it). */
export interface UpstreamLease {
  /**
   * Sends a piece of the request body (framed as a chunk when the request is chunked; an empty
   * piece is ignored). Returns false when it is still queued, i.e. still referenced: stop
   * reading the client until `onRequestDrain`. Before the connection is ready every piece is
   * held by reference, so the first write returns false.
   */
  write(piece: Buffer): boolean;
  /** The request body is complete (for chunked: the last chunk and these trailers). */
  end(trailers?: readonly string[]): void;
  /** Stops reading the response (the client is slow); `resume` restarts it. */
  pause(): void;
  resume(): void;
  /**
   * Abandons the exchange (client gone, timeout, early answer): the connection is destroyed,
   * never reused, and the sink gets no further call.
   */
  destroy(): void;
}

/** Per-endpoint pools of raw HTTP/1.1 connections (upstream-pool.ts). */
export interface FastUpstreamPool {
  /**
   * Sends `req` to `endpoint` on an idle kept-alive connection, a new one, or after waiting
   * for one (the general path's limits: connections per endpoint, queue bound, queue wait).
   * Throws `UpstreamQueueFullError` at once when the endpoint's queue is full. A request on a
   * reused connection that closes before any response byte is resent once on a new connection
   * when its method is idempotent and every body byte written is still held (the keep-alive
   * race: the upstream closed an idle connection as the request went out); otherwise the sink
   * gets `onUpstreamError`.
   */
  send(endpoint: Endpoint, req: FastRequest, sink: UpstreamSink): UpstreamLease;
  /** Closes the pools of endpoints that left the routing table (`poolKey`s); busy connections finish. */
  evict(keys: ReadonlySet<string>): void;
  /** Destroys every connection (shutdown). */
  close(): void;
}
