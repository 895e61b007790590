// Socket writes that ask Node for a completion callback only when the bytes stay queued. A write
// given a callback that completes at once (nearly every write of a small request or answer on a
// kept-alive connection) has that callback deferred to a process.nextTick (Node's
// afterWriteTick): with a callback on every write the fast path paid a tick per write, one per
// direction per request on each proxy. It needs the callback only for back-pressure, to learn
// when bytes that stayed queued are out (they may still point into a reused read buffer). So the
// bytes go out plainly and, when some stay queued, an empty write carrying the callback follows
// them: Node calls it once everything before it is written. TLS sockets keep a callback on every
// write: there a write always completes later (it stays queued until TLS has passed it on, checked
// on Node 24), so its callback costs no tick, and an empty write would only add one. A TLS write
// that went straight to the TLS handle counts as written at once although it stays queued: Node's
// TLSWrap::DoWrite copies the bytes into OpenSSL (SSL_write into its record buffer, or a copy
// kept for after the handshake) before it returns, so they no longer point into the caller's
// buffer; what stays queued is only the record's way out. Reporting it queued made the caller
// stop reading its upstream (a pause and a resume, a Readable tick, per answer on an mTLS hop).
// Only a write that found nothing queued qualifies: one issued while another is under way waits
// in Writable's buffer, by reference, and reports false (back-pressure, at most one write ahead).
import type net from 'node:net';

const EMPTY = Buffer.alloc(0);

/**
 * Writes `a` (then `b` and `c`, corked into one write) to `socket`. True when none of the bytes
 * is referenced any more (written at once, or on TLS copied into OpenSSL); false when some stayed
 * queued by reference, and `onWritten` runs once all is written. On TLS `onWritten` also runs
 * after a write that returned true: callers ignore a call they did not wait for.
 */
export function writeWatched(socket: net.Socket, onWritten: () => void, a: Buffer, b: Buffer | null = null, c: Buffer | null = null): boolean {
  const tls = (socket as { encrypted?: boolean }).encrypted === true;
  // something already queued: this write completes later anyway, so its callback costs no tick
  const watch = tls || socket.writableLength > 0;
  // nothing under way, not connecting, nobody else's cork: the write goes to the handle now
  const direct = tls && socket.writableLength === 0 && !socket.connecting && socket.writableCorked === 0;
  if (b === null) socket.write(a, watch ? onWritten : undefined);
  else {
    socket.cork();
    socket.write(a);
    if (c === null) socket.write(b, watch ? onWritten : undefined);
    else {
      socket.write(b);
      socket.write(c, watch ? onWritten : undefined);
    }
    socket.uncork();
  }
  if (socket.writableLength === 0) return true;
  if (direct && dispatched(socket)) return true;
  if (!watch) socket.write(EMPTY, onWritten);
  return false;
}

/**
 * Whether every chunk written so far left Writable's buffer for the handle (none waits there by
 * reference). Node keeps no public name for it; where the count is missing, assume one waits.
 */
function dispatched(socket: net.Socket): boolean {
  const state = (socket as unknown as { _writableState?: { bufferedRequestCount?: unknown } })._writableState;
  return state?.bufferedRequestCount === 0;
}
