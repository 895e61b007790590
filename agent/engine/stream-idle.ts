// The stream idle timeout (issue 15; Envoy's stream_idle_timeout, 5 min by default): a request
// whose body and response both stay silent that long is ended, so a client uploading a byte now
// and then, or an h2 stream left open, cannot hold an upstream connection for good. Before the
// response started an HTTP/1.1 client gets 408 (and the connection closes); otherwise the
// response is cut (h2 RST_STREAM, h1 connection closed), as Envoy does.
import { MeshletError } from '../../api/errors.ts';
import { isH2, type DownstreamRequest, type DownstreamResponse } from './downstream.ts';
import { abortResponse, sendStatus } from './error-response.ts';
import { clientError } from './rejection.ts';

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

interface Watch {
  req: DownstreamRequest;
  res: DownstreamResponse;
  abort: (err: Error) => void;
  seen: number;
  quietSince: number;
}

/**
 * Watches the exchanges of one proxy: after `ms` without a byte read or written on its
 * connection, an exchange is answered (408 or reset) and `abort` is called so its upstream
 * attempt is cancelled. One interval per proxy samples every watched exchange (a quarter of `ms`
 * apart) instead of a timer and a listener per request, which the hot path paid on every
 * request for a timeout that almost never fires. Progress is sampled rather than counted per
 * chunk: a 'data' listener on the request would start the body flowing before the upstream
 * reads it. On h2 the session's bytes count, so streams of a busy connection share its activity.
 */
export class StreamIdleSweep {
  readonly ms: number;
  readonly #watches = new Set<Watch>();
  readonly #step: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(ms: number) {
    this.ms = ms;
    this.#step = Math.max(Math.floor(ms / 4), 10);
  }

  /** Starts watching an exchange; pass the result to forget() once its response closed. */
  watch(req: DownstreamRequest, res: DownstreamResponse, abort: (err: Error) => void): object {
    const w: Watch = { req, res, abort, seen: progress(req), quietSince: Date.now() };
    this.#watches.add(w);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#sweep(), this.#step);
      this.#timer.unref();
    }
    return w;
  }

  forget(w: object): void {
    this.#watches.delete(w as Watch);
  }

  /** Exchanges watched now (tests). */
  get size(): number {
    return this.#watches.size;
  }

  #sweep(): void {
    const now = Date.now();
    for (const w of this.#watches) {
      if (w.res.closed || w.res.writableEnded) {
        this.#watches.delete(w);
        continue;
      }
      const bytes = progress(w.req);
      if (bytes !== w.seen) {
        w.seen = bytes;
        w.quietSince = now;
        continue;
      }
      if (now - w.quietSince < this.ms) continue;
      this.#watches.delete(w);
      if (!w.res.headersSent && !isH2(w.req)) sendStatus(w.res, clientError(408, 'stream idle timeout'), { connection: 'close' });
      else abortResponse(w.res);
      w.abort(new StreamIdleTimeoutError(this.ms));
    }
    // Idle proxies keep no timer; the next watch() starts it again.
    if (this.#watches.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}
