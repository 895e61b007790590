// Socket writes that ask Node for a completion callback only when the bytes stay queued. A write
// given a callback that completes at once (nearly every write of a small request or answer on a
// kept-alive connection) has that callback deferred to a process.nextTick (Node's
// afterWriteTick): with a callback on every write the fast path paid a tick per write, one per
// direction per request on each proxy. It needs the callback only for back-pressure, to learn
// when bytes that stayed queued are out (they may still point into a reused read buffer). So the
// bytes go out plainly and, when some stay queued, an empty write carrying the callback follows
// them: Node calls it once everything before it is written. TLS sockets keep a callback on every
// write: there a write always completes later (it stays queued until TLS has passed it on, checked
// on Node 24), so its callback costs no tick, and an empty write would only add one.
import type net from 'node:net';

const EMPTY = Buffer.alloc(0);

/**
 * Writes `a` (then `b` and `c`, corked into one write) to `socket`. True when all of it was
 * written at once; false when some stayed queued, and `onWritten` runs once it is written.
 */
export function writeWatched(socket: net.Socket, onWritten: () => void, a: Buffer, b: Buffer | null = null, c: Buffer | null = null): boolean {
  const tls = (socket as { encrypted?: boolean }).encrypted === true;
  // something already queued: this write completes later anyway, so its callback costs no tick
  const watch = tls || socket.writableLength > 0;
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
  if (!watch) socket.write(EMPTY, onWritten);
  return false;
}
