// The stream idle timeout (issue 15; Envoy's stream_idle_timeout, 5 min by default): a request
// whose body and response both stay silent that long is ended, so a client uploading a byte now
// and then, or an h2 stream left open, cannot hold an upstream connection for good. Before the
// response started an HTTP/1.1 client gets 408 (and the connection closes); otherwise the
// response is cut (h2 RST_STREAM, h1 connection closed), as Envoy does.
import { MeshletError } from '../../api/errors.ts';
import { isH2, type DownstreamRequest, type DownstreamResponse } from './downstream.ts';
import { abortResponse, sendStatus } from './error-response.ts';

/** Envoy's default stream_idle_timeout. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;

/** No request body byte and no response byte for the stream idle timeout. */
export class StreamIdleTimeoutError extends MeshletError {
  constructor(ms: number) {
    super('E_STREAM_IDLE_TIMEOUT', `no request or response bytes for ${ms} ms`);
  }
}

/** Bytes moved on the connection carrying the request, either way (h2: the whole session). */
function progress(req: DownstreamRequest): number {
  const socket = isH2(req) ? req.stream.session?.socket : req.socket;
  return socket ? socket.bytesRead + socket.bytesWritten : 0;
}

/**
 * Watches one exchange; after `ms` without a byte read or written on its connection, answers
 * (408 or reset) and calls `abort` so the upstream attempt is cancelled. Progress is sampled
 * (a quarter of `ms` apart) rather than counted per chunk: a 'data' listener on the request
 * would start the body flowing before the upstream reads it. On h2 the session's bytes count,
 * so streams of a busy connection share its activity.
 */
export function watchStreamIdle(req: DownstreamRequest, res: DownstreamResponse, ms: number, abort: (err: Error) => void): void {
  const step = Math.max(Math.floor(ms / 4), 10);
  let seen = progress(req);
  let quietSince = Date.now();
  const timer = setInterval(() => {
    if (res.closed || res.writableEnded) {
      clearInterval(timer);
      return;
    }
    const now = progress(req);
    if (now !== seen) {
      seen = now;
      quietSince = Date.now();
      return;
    }
    if (Date.now() - quietSince < ms) return;
    clearInterval(timer);
    if (!res.headersSent && !isH2(req)) sendStatus(res, 408, 'stream idle timeout', { connection: 'close' });
    else abortResponse(res);
    abort(new StreamIdleTimeoutError(ms));
  }, step);
  timer.unref();
  res.once('close', () => clearInterval(timer));
}
