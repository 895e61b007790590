// llhttp through Node's C++ binding: `HTTPParser` of `node:_http_common`, the parser node:http
// itself runs. It is undocumented, so `llhttpAvailable()` checks its shape once; when it is
// missing or changed, the fast path stays off and every request takes the general path.
// Strict flags (no leniency) and the same 16 KB head limit as node:http, so a request is
// accepted or refused here exactly as on the general path. Callbacks go to one long-lived
// `H1Events` object per connection (no closure per request). A head split over reads, or with
// more than 32 fields, arrives in parts (kOnHeaders) and is joined here; kOnHeaders after the
// head carries trailers. `onHead` may return PAUSE: `execute` then stops right after the head
// and reports `paused` with the offset, so the caller can hand the rest of the bytes to the
// general path (or hold a pipelined request) and `resume()` later. An upgrade or CONNECT head
// stops llhttp by itself and is reported the same way.
import { createRequire } from 'node:module';

/** llhttp's method enum (llhttp.h HTTP_METHOD_MAP): index = the number llhttp reports. */
const METHODS: readonly string[] = [
  'DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'CONNECT', 'OPTIONS', 'TRACE', 'COPY', 'LOCK', 'MKCOL', 'MOVE',
  'PROPFIND', 'PROPPATCH', 'SEARCH', 'UNLOCK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'REPORT', 'MKACTIVITY',
  'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PATCH', 'PURGE', 'MKCALENDAR',
  'LINK', 'UNLINK', 'SOURCE', 'PRI', 'DESCRIBE', 'ANNOUNCE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN',
  'GET_PARAMETER', 'SET_PARAMETER', 'REDIRECT', 'RECORD', 'FLUSH', 'QUERY',
];

/** Returned by `onHead` to stop parsing right after this head (llhttp's HPE_PAUSED). */
export const PAUSE = 21;
/** Returned by `onHead` for a message without a body (the response to HEAD). */
export const SKIP_BODY = 1;

export interface H1Events {
  /** `fields` is [name, value, …] as received (latin1). Requests: method, target; responses: status, reason. */
  onHead(major: number, minor: number, fields: string[], method: string, target: string, status: number, reason: string, upgrade: boolean, keepAlive: boolean): number;
  /** A piece of the body with chunk framing removed. */
  onBody(piece: Buffer): void;
  onTrailers(fields: string[]): void;
  onComplete(): void;
}

export interface LlhttpError { code: string; reason: string }
export type ExecuteResult = { kind: 'ok' } | { kind: 'paused'; offset: number } | { kind: 'error'; error: LlhttpError };

type NativeResult = number | (Error & { code: string; reason: string; bytesParsed: number }) | undefined;
interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): NativeResult;
  finish(): NativeResult;
  resume(): void;
  pause(): void;
  close(): void;
  [k: number]: unknown;
}
interface NativeParserClass { new(): NativeParser; REQUEST: number; RESPONSE: number; kOnHeaders: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number }

let cached: NativeParserClass | null | undefined;
function binding(): NativeParserClass | null {
  if (cached !== undefined) return cached;
  try {
    const c = (createRequire(import.meta.url)('node:_http_common') as { HTTPParser?: NativeParserClass }).HTTPParser;
    const ok = typeof c === 'function' && ['initialize', 'execute', 'finish', 'resume', 'close'].every((m) => typeof (c.prototype as Record<string, unknown>)[m] === 'function')
      && [c.REQUEST, c.RESPONSE, c.kOnHeaders, c.kOnHeadersComplete, c.kOnBody, c.kOnMessageComplete].every((n) => typeof n === 'number');
    cached = ok ? c : null;
  } catch {
    cached = null;
  }
  return cached;
}

/** Whether this Node exposes the llhttp binding in the shape the fast path was written for. */
export function llhttpAvailable(): boolean {
  return binding() !== null;
}

const RESOURCE = {};
const HEAD_LIMIT = 16 * 1024;

/** The common result, one object for every call (results are read, never kept or changed). */
const OK: ExecuteResult = Object.freeze({ kind: 'ok' });

function result(r: NativeResult, length: number): ExecuteResult {
  if (r === undefined) return OK;
  // an upgrade request (or CONNECT) stops llhttp after its head: the binding then returns the
  // bytes parsed, fewer than given, and the rest belongs to the upgraded protocol
  if (typeof r === 'number') return r < length ? { kind: 'paused', offset: r } : OK;
  if (r.code === 'HPE_PAUSED') return { kind: 'paused', offset: r.bytesParsed };
  return { kind: 'error', error: { code: r.code, reason: r.reason } };
}

export class LlhttpParser {
  private readonly p: NativeParser;
  private readonly events: H1Events;
  private partial: string[] = [];
  private partialTarget = '';
  private inBody = false;
  /** Inside execute()/finish(), that is inside one of our callbacks. */
  private running = false;
  private closeWhenDone = false;

  constructor(kind: 'request' | 'response', events: H1Events) {
    const C = binding();
    if (C === null) throw new Error('llhttp binding unavailable (check llhttpAvailable() first)');
    this.events = events;
    this.p = new C();
    this.p.initialize(kind === 'request' ? C.REQUEST : C.RESPONSE, RESOURCE, HEAD_LIMIT, 0);
    this.p[C.kOnHeaders] = this.onHeaders.bind(this);
    this.p[C.kOnHeadersComplete] = this.onHeadersComplete.bind(this);
    this.p[C.kOnBody] = this.onBody.bind(this);
    this.completeCallback = this.onComplete.bind(this);
    this.kComplete = C.kOnMessageComplete;
    this.p[C.kOnMessageComplete] = this.completeCallback;
  }

  private readonly completeCallback: () => void;
  private readonly kComplete: number;
  /** Body bytes still to come of a message whose end is counted here (completeAfter); -1: llhttp reports the end. */
  private counted = -1;
  /** llhttp's message-complete callback is unset (the current message's end is counted here). */
  private nativeCompleteOff = false;

  private onHeaders(fields: string[], target: string): void {
    for (const f of fields) this.partial.push(f);
    if (!this.inBody) this.partialTarget += target;
  }

  private onHeadersComplete(major: number, minor: number, fields: string[] | undefined, method: number | undefined, target: string | undefined,
    status: number | undefined, reason: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    if (fields === undefined) { fields = this.partial; this.partial = []; }
    if (target === undefined) { target = this.partialTarget; this.partialTarget = ''; }
    this.inBody = true;
    this.counted = -1;
    this.inHeadCall = true;
    let r: number;
    try {
      r = this.events.onHead(major, minor, fields, method === undefined ? '' : (METHODS[method] ?? ''), target, status ?? 0, reason ?? '', upgrade, keepAlive);
    } finally {
      this.inHeadCall = false;
    }
    // the end is counted here only for a message parsed on without a stop (a pause or an
    // upgrade hands the rest elsewhere, and llhttp reports the end when it goes on)
    const counting = this.counted >= 0 && r === 0 && !upgrade;
    if (counting !== this.nativeCompleteOff) {
      this.nativeCompleteOff = counting;
      this.p[this.kComplete] = counting ? undefined : this.completeCallback;
    }
    if (!counting) this.counted = -1;
    else if (this.counted === 0) this.onComplete();
    return r;
  }

  private onBody(piece: Buffer): void {
    this.events.onBody(piece);
    if (this.counted > 0) {
      this.counted -= piece.length;
      if (this.counted <= 0) this.onComplete();
    }
  }

  private onComplete(): void {
    this.inBody = false;
    this.counted = -1;
    if (this.partial.length > 0) { const t = this.partial; this.partial = []; this.events.onTrailers(t); }
    this.events.onComplete();
  }

  /**
   * Called from `onHead`: this message's body is `length` bytes (0: none), so its end is known
   * here, at its last body byte, without llhttp's message-complete callback. That callback is a
   * C++→JS call inside a callback scope (~2 k instructions per message, issue 16); it is left
   * unset while messages end this way, and set again for one that does not (chunked, until
   * close, a head that stopped the parser). llhttp itself parses exactly as before.
   */
  completeAfter(length: number): void {
    // a head taken up later (a pipelined one, after a pause) keeps llhttp's callback
    if (this.inHeadCall) this.counted = length;
  }

  /** Inside `onHead`, called by llhttp (not a head taken up later). */
  private inHeadCall = false;

  // execute and finish mark the parser as running without a closure per call (two per request)
  execute(data: Buffer): ExecuteResult {
    this.running = true;
    try {
      return result(this.p.execute(data), data.length);
    } finally {
      this.#afterRun();
    }
  }

  /** The peer closed: completes a read-until-close response, or reports a truncated message. */
  finish(): ExecuteResult {
    this.running = true;
    try {
      return result(this.p.finish(), 0);
    } finally {
      this.#afterRun();
    }
  }

  resume(): void { this.p.resume(); }

  /** Stops parsing: what `execute` is given from now on is reported paused at offset 0, until `resume()`. */
  pause(): void { this.p.pause(); }

  /**
   * Frees the native parser. Called from inside one of its own callbacks (a handler closing the
   * connection on a head it refuses), freeing it at once crashes the process (the binding goes
   * on using the freed parser when the callback returns): the close then waits for
   * execute()/finish() to return.
   */
  close(): void {
    if (this.running) { this.closeWhenDone = true; return; }
    this.p.close();
  }

  #afterRun(): void {
    this.running = false;
    if (this.closeWhenDone) { this.closeWhenDone = false; this.p.close(); }
  }
}
