// Copies a response body downstream with back-pressure (pipe), without ending the destination
// (trailers may follow). Hand-rolled rather than stream.pipeline: pipeline allocates an
// AbortController and aborts it on every completion, which costs a DOMException per request.
import type { Readable, Writable } from 'node:stream';

export function relayBody(src: Readable, dst: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err?: Error): void => {
      if (settled) return;
      settled = true;
      src.off('end', onEnd);
      src.off('error', onError);
      src.off('close', onSrcClose);
      dst.off('error', onError);
      dst.off('close', onDstClose);
      if (err) {
        src.unpipe(dst);
        reject(err);
      } else resolve();
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
    dst.once('error', onError);
    dst.once('close', onDstClose);
    src.pipe(dst, { end: false });
  });
}
