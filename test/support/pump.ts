// Writes `total` bytes of `chunk` to a stream the way a well-behaved producer does: it stops
// when write() returns false and goes on at 'drain', so whatever is downstream (a proxy, a
// socket) sets the pace, and ends the stream after the last one. `onChunk` sees each chunk as
// it is handed to write().
import type { Writable } from 'node:stream';

export interface PumpOptions {
  onChunk?: (chunk: Buffer) => void;
}

export function pump(w: Writable, chunk: Buffer, total: number, opts: PumpOptions = {}): void {
  let sent = 0;
  const next = (): void => {
    while (sent < total) {
      sent += chunk.length;
      opts.onChunk?.(chunk);
      if (!w.write(chunk)) {
        w.once('drain', next);
        return;
      }
    }
    w.end();
  };
  w.on('close', () => w.off('drain', next));
  next();
}
