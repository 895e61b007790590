// Copies a response body downstream with back-pressure, without ending the destination
// (trailers may follow). Hand-rolled rather than stream.pipeline: pipeline allocates an
// AbortController and aborts it on every completion, which costs a DOMException per request.
// Hand-rolled rather than src.pipe too: the relay's own 'data' listener is where an observed
// request's response bytes are counted, so telemetry adds no second listener per request.
// Every chunk also counts toward the process's young-buffer collection (relay-gc.ts).
import type { Readable, Writable } from 'node:stream';
import { relayGc } from './relay-gc.ts';

/** Where a relay adds the bytes it copied (the request's telemetry event), when observed. */
export interface ByteCounter {
  responseBytes: number;
}

export function relayBody(src: Readable, dst: Writable, counter: ByteCounter | null = null): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err?: Error): void => {
      if (settled) return;
      settled = true;
      src.off('data', onData);
      src.off('end', onEnd);
      src.off('error', onError);
      src.off('close', onSrcClose);
      dst.off('drain', onDrain);
      dst.off('error', onError);
      dst.off('close', onDstClose);
      if (err) {
        // As unpipe leaves it: not flowing, so nothing more is read and dropped.
        src.pause();
        reject(err);
      } else resolve();
    };
    const onData = (chunk: Buffer | string): void => {
      if (counter) counter.responseBytes += chunk.length;
      relayGc.note(chunk.length);
      // As pipe does: a full destination pauses the source until it drains.
      if (!dst.write(chunk)) src.pause();
    };
    const onDrain = (): void => {
      if (!settled) src.resume();
    };
    const onEnd = (): void => done();
    const onError = (err: Error): void => done(err);
    const onSrcClose = (): void => {
      if (!src.readableEnded) done(new Error('upstream closed before the end of the body'));
    };
    const onDstClose = (): void => {
      if (!src.readableEnded) done(new Error('client closed before the end of the body'));
    };
    src.once('end', onEnd);
    src.once('error', onError);
    src.once('close', onSrcClose);
    dst.on('drain', onDrain);
    dst.once('error', onError);
    dst.once('close', onDstClose);
    src.on('data', onData);
    // A destination still full from before (the head's write) gets its drain first, as in pipe.
    if (dst.writableNeedDrain) src.pause();
    else src.resume();
  });
}
