// One HTTP/1.1 attempt through the endpoint's undici pool. A request admitted while every
// connection is busy waits in the pool's queue at most the pool's queue wait bound, and gives up
// at once when its attempt is aborted (undici itself would hold it until a connection takes it).
// A replayable request that meets the keep-alive race (its reused connection lost before any
// response byte) is resent once, on a fresh connection to the same endpoint, within the same
// attempt: the retry policies above (route retry, default retry) see one attempt (ADR 0024).
import type { Dispatcher } from 'undici';
import type { Endpoint } from './connect.ts';
import { stripHopByHop, type Headers } from './hop-by-hop.ts';
import { onStarted, UpstreamQueueTimeoutError, type H1Admission, type UpstreamPools } from './pools.ts';
import { meteredBody } from './relay-gc.ts';
import { newWriteNote, raced, resendable, ResendFailedError, withWriteNote, type WriteNote } from './reused-connection.ts';
import type { AttemptRequest, UpstreamResponse } from './upstream-types.ts';

function bodyFor(req: AttemptRequest): Dispatcher.DispatchOptions['body'] {
  const b = req.body;
  if (b.kind === 'none') return null;
  if (b.kind === 'buffered') return b.data;
  b.used = true;
  return meteredBody(b.stream, req.headers['content-length']) as Dispatcher.DispatchOptions['body'];
}

/**
 * For a request that must first wait for a connection: rejects with UpstreamQueueTimeoutError
 * after `waitMs` in the queue (0: never), or with the attempt's abort reason, without waiting for undici;
 * `giveUp` then aborts the undici request too (dropped when a connection takes it). `started`
 * is called when undici takes the request from the queue: from there the attempt's own signal
 * and timeouts govern it, as for any request.
 */
function queueBound(key: string, signal: AbortSignal, waitMs: number, giveUp: AbortController): { started: () => void; expired: Promise<never> } {
  let started = (): void => undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    const fail = (err: unknown): void => {
      started();
      giveUp.abort(err);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const onAbort = (): void => fail(signal.reason);
    const timer = waitMs > 0 ? setTimeout(() => fail(new UpstreamQueueTimeoutError(key, waitMs)), waitMs) : null;
    started = () => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  expired.catch(() => undefined);
  return { started: () => started(), expired };
}

export async function sendH1(pools: UpstreamPools, endpoint: Endpoint, req: AttemptRequest): Promise<UpstreamResponse> {
  const headers: Headers = { ...req.headers, host: req.authority };
  if (req.body.kind === 'buffered') headers['content-length'] = String(req.body.data.length);
  // only a request that could be resent learns where it went out (one closure in the Client)
  const note = resendable(req) ? newWriteNote() : null;
  try {
    return await sendOn(pools.h1Admit(endpoint), req, headers, note);
  } catch (err) {
    if (note === null || !raced(note, req.method, err, req.signal)) throw err;
  }
  // the keep-alive race: once, on a fresh connection (never another idle one, never again)
  try {
    return await sendOn(pools.h1Fresh(endpoint), req, headers, null);
  } catch (err) {
    throw req.signal.aborted ? err : new ResendFailedError(err);
  }
}

async function sendOn(admission: H1Admission, req: AttemptRequest, headers: Headers, note: WriteNote | null): Promise<UpstreamResponse> {
  const base: Dispatcher.RequestOptions = { method: req.method, path: req.pathAndQuery, headers, body: bodyFor(req), signal: req.signal };
  const opts = note === null ? base : withWriteNote(base, note);
  let sent: Promise<Dispatcher.ResponseData>;
  let bound: ReturnType<typeof queueBound> | null = null;
  if (admission.waitMs === null) sent = admission.pool.request(opts);
  else {
    const giveUp = new AbortController();
    bound = queueBound(admission.key, req.signal, admission.waitMs, giveUp);
    sent = admission.pool.request(onStarted({ ...opts, signal: AbortSignal.any([req.signal, giveUp.signal]) }, bound.started));
  }
  // The slot is undici's until it is done with the request, even one this attempt gave up on.
  sent.then((r) => r.body.once('close', admission.done), admission.done);
  const res = await (bound ? Promise.race([sent, bound.expired]) : sent);
  return {
    status: res.statusCode,
    headers: stripHopByHop(res.headers),
    body: res.body,
    trailers: () => {
      const t = res.trailers as Record<string, string> | undefined;
      return t && Object.keys(t).length > 0 ? t : null;
    },
    discard: () => {
      // dump() reads a small remainder so the connection stays reusable, else closes it;
      // undici reports a destroyed body as an AbortError, which is expected here.
      res.body.on('error', () => undefined);
      res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    },
  };
}
