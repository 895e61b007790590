// Accepted sockets that read into one reused buffer per connection (`onread`), so a connection
// streaming 100 MB allocates nothing per read (ADR 0017: +2-3 MB over two hops instead of
// +110 MB). `net.connect` takes `onread`, a socket accepted by `net.Server` cannot: its TCP
// handle is re-wrapped in a Socket built with `onread`, through the internal `_handle`. That is
// undocumented, so `readBufferAvailable()` checks the handle's shape first and `adoptReadBuffer`
// returns null whenever it does not hold (not a plain TCP handle — TLS, a CONNECT tunnel's
// stream —, already destroyed, or a Node without the shape): the caller then reads the socket
// as usual. Bytes the old socket had read and not delivered (detection's unshift) are handed
// back in `buffered`, in order, before the first read of the new one.
//
// The chunk given to `onRead` lives in the reused buffer: it is valid during the call only, and
// anything written from it must be fully written before the next read (the connection pauses
// its reading while a write stays queued). `handOff()` turns the socket back into an ordinary
// stream (every read copied and pushed as 'data'), for the general path after a fallback: node's
// http server consumes the handle natively, and an upgraded connection reads 'data' again.
import net from 'node:net';

export const READ_BUFFER_BYTES = 64 * 1024;

export interface ReadSink {
  /** A read: valid only during the call. Return false to stop reading (resume() restarts it). */
  onRead(chunk: Buffer): boolean;
}

interface InternalHandle { readStop?: unknown; readStart?: unknown; useUserBuffer?: unknown; reading?: boolean }

function handleOf(socket: net.Socket): InternalHandle | null {
  const h = (socket as unknown as { _handle?: unknown })._handle;
  return typeof h === 'object' && h !== null ? h : null;
}

/** Whether this socket's handle has the shape the re-wrap relies on (a libuv TCP stream). */
export function readBufferAvailable(socket: net.Socket): boolean {
  if (socket.destroyed || (socket as { encrypted?: boolean }).encrypted === true || !(socket instanceof net.Socket)) return false;
  const h = handleOf(socket);
  return h !== null && typeof h.readStop === 'function' && typeof h.readStart === 'function' && typeof h.useUserBuffer === 'function';
}

export interface ReadBufferSocket {
  /** The new socket (the old one is destroyed without closing the connection). */
  socket: net.Socket;
  /** Bytes the old socket held, to handle before the first read. */
  buffered: Buffer[];
  /** From now on every read is copied and pushed as ordinary 'data' (general-path hand-off). */
  handOff: () => void;
}

/**
 * Called from a 'data' listener of a socket read as an ordinary stream (TLS: node:tls decrypts
 * into a fresh buffer per record): Readable then skips its read-ahead for this chunk. After every
 * chunk it adds, Readable schedules `maybeReadMore` on a process.nextTick, which only calls
 * `read(0)`; on a socket whose handle keeps reading while it flows that reads nothing, and in Node
 * 24 each such tick costs ~8.7k instructions (its tick object), one per TLS read per side of an
 * mTLS hop (issue 16, ADR 0020). Readable skips it while `readingMore` is set, and a 'data'
 * listener runs just before that check; node:http's IncomingMessage and Http2Stream set the flag
 * for good for the same reason. A pause still stops the flow and a resume restarts the handle
 * (Readable.resume reads through `_read`, not through the read-ahead). Where the flag is missing
 * (another Node), setting it does nothing but cost the tick as before.
 */
export function skipReadAhead(socket: net.Socket): void {
  const state = (socket as unknown as { _readableState?: { readingMore?: boolean } })._readableState;
  if (state !== undefined) state.readingMore = true;
}

export function adoptReadBuffer(socket: net.Socket, sink: ReadSink, size = READ_BUFFER_BYTES): ReadBufferSocket | null {
  if (!readBufferAvailable(socket)) return null;
  socket.pause();
  const buffered: Buffer[] = [];
  for (let b = socket.read() as Buffer | null; b !== null; b = socket.read() as Buffer | null) buffered.push(b);
  // An end already read (or pending) cannot be moved to the new socket: stay on ordinary reads.
  if (socket.readableEnded || (socket as { readableEnded?: boolean; _readableState?: { ended?: boolean } })._readableState?.ended === true) {
    for (let i = buffered.length - 1; i >= 0; i--) socket.unshift(buffered[i]!);
    return null;
  }
  const handle = handleOf(socket)!;
  (socket as unknown as { _handle: unknown })._handle = null;
  socket.destroy();
  let handedOff = false;
  let fresh: net.Socket | null = null;
  const onread = {
    buffer: Buffer.allocUnsafe(size),
    callback: (n: number, buf: Uint8Array): boolean => {
      if (handedOff) return fresh!.push(Buffer.from(buf.subarray(0, n)));
      return sink.onRead(Buffer.from(buf.buffer, buf.byteOffset, n));
    },
  };
  // allowHalfOpen: a client may send its request and FIN, then wait for the answer.
  fresh = new net.Socket({ handle, onread, allowHalfOpen: true, readable: true, writable: true } as unknown as net.SocketConstructorOpts);
  return { socket: fresh, buffered, handOff: () => { handedOff = true; } };
}
