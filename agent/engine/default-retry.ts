// The retry a hop makes when its route sets none (ADR 0022): one more attempt, on another
// endpoint, for an attempt that certainly did not reach an app, so that a pod going away (its
// app gone before every client learned the endpoint was removed) fails no request. What counts
// as "did not reach an app" is decided here for both paths (attempts.ts, h1-fast):
//   - the connection could not be made (refused, unreachable, timed out, TLS failed): nothing
//     was written;
//   - a connection closed or reset before any response byte, for an idempotent method only
//     (RFC 9110 §9.2.2): what node:http's reusedSocket advice and undici's RetryHandler retry;
//   - an HTTP/2 stream the peer refused (REFUSED_STREAM, or a GOAWAY before it was sent), which
//     RFC 9113 §8.7 guarantees was not processed;
//   - a 503 a peer meshlet answered itself because ITS app refused the connection, marked with
//     UNREACHED_HEADER (added only by the inbound side, only to that answer; stripped by the
//     hop that reads it). An app's own 503 carries no mark and is relayed, tried once.
import { UpstreamConnectError } from './connect.ts';

/** The inbound side's mark on its own 503 when its app refused the connection (ADR 0022). */
export const UNREACHED_HEADER = 'x-meshlet-unreached';

/** Retries a route with no retry of its own gets: one, on another endpoint. */
export const DEFAULT_RETRIES = 1;

/** Why an attempt certainly did not reach an app (the log and the attempt's error say it). */
export type UnreachedCause = 'connect-failure' | 'connection-lost' | 'refused-stream' | 'peer-unreached';

/** Methods a server must treat as safe to receive twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function idempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** Socket errors of a connection lost before the response head (undici's, and Node's). */
// E_UPSTREAM_CLOSED: the fast path's connection closed (FIN) before any response byte
const LOST = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'E_UPSTREAM_CLOSED']);

/** Errors of a connection that never opened (Node's, under an error undici or http2 wrapped). */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

/**
 * Why a failed attempt (its error, before any response head) certainly did not reach an app,
 * or null. A connection lost before the response head counts for idempotent methods only (the
 * rule of undici's RetryHandler), on both paths: on the fast path the lease has already resent
 * a request that met a closing kept-alive connection (upstream-lease.ts), so a loss seen here
 * is a fresh connection's, like the general path's resend (ADR 0024, 17:30).
 */
export function unreachedCause(err: unknown, method: string): UnreachedCause | null {
  let e: unknown = err;
  // bounded: an error's cause chain is short (undici and http2 wrap once)
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    if (e instanceof UpstreamConnectError) return 'connect-failure';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      // only from connect(): Linux also reports EHOSTUNREACH and the like on an established
      // socket whose retransmissions timed out, after the request was written
      const syscall = (e as { syscall?: unknown }).syscall;
      if (NOT_CONNECTED.has(code) && (syscall === undefined || syscall === 'connect')) return 'connect-failure';
      // a stream opened on a session that had received GOAWAY, or refused by the peer
      if (code === 'ERR_HTTP2_GOAWAY_SESSION' || (code === 'ERR_HTTP2_STREAM_ERROR' && e.message.includes('REFUSED_STREAM'))) return 'refused-stream';
      if (LOST.has(code)) return idempotent(method) ? 'connection-lost' : null;
    }
    e = e.cause;
  }
  return null;
}
