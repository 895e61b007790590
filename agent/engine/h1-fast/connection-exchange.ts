// One request on the fast path, from its head to the end of its answer: the attempt loop of
// attempts.ts (endpoint by P2C, retries per GEP-1731 on the listed statuses, connect failures
// and backend timeouts, exponential backoff with jitter, the group's retry budget; only a body
// held within the retry bound is resent), the route and default request timeouts of
// http-handler.ts (the default one from the end of the request body to the response head), the
// response head with the route's header modifiers and the framing the client can read (chunked
// for HTTP/1.1, close-delimited for HTTP/1.0), and the attempt and request telemetry events.
// It is the upstream pool's sink (upstream-types.ts): body pieces it is handed may be views of
// a reused read buffer, so they are written before the next read (`onReadDone`) and copied
// only when they must be kept for a retry. A routed request whose route sets no retry gets the
// hop's default retry (ADR 0022, default-retry.ts): one more attempt on another endpoint when
// the first certainly reached no app, with the body only when it was complete in the first
// write (kept by reference, never copied for it); the inbound side marks the 503 it answers when
// its app refused the connection. What the client does not wait for, the attempt's end (balancer
// statistics, the attempt event) and the exchange's end (timers, the in-flight count, the request
// event, the connection's next request), runs after the write that carries the answer
// (`onReadDone`), not between the upstream's read and that write (issue 16's critical path).
import type { EndpointIR } from '../../../api/routing-table.ts';
import { applyHeaderModifier } from '../../route/index.ts';
import { BackendTimeoutError, RequestTimeoutError, retryDelayMs } from '../attempts.ts';
import { isMutualTls } from '../connect.ts';
import { DEFAULT_RETRIES, UNREACHED_HEADER, unreachedCause } from '../default-retry.ts';
import type { ProxyCore } from '../core.ts';
import type { Headers } from '../hop-by-hop.ts';
import { clientError, noHealthyUpstream, upstreamTimeout, upstreamUnavailable, internalError, type Rejection } from '../rejection.ts';
import { StreamIdleTimeoutError } from '../stream-idle.ts';
import type { RetryBudget } from '../retry-budget.ts';
import { endRequest, type AttemptEvent, type RequestEvent } from '../../telemetry/events.ts';
import { endAttemptEvent, startAttemptEvent } from '../../telemetry/build-events.ts';
import { markPeerWorkload } from '../../telemetry/peer-workload.ts';
import { CRLF, chunkHeader, lastChunk } from './chunked.ts';
import { rejectionBytes } from './downstream-answer.ts';
import type { ForwardPlan } from './engine-bridge.ts';
import { writeRequestHeadFrom, writeResponseHead, writeResponseHeadRaw } from './head-writer.ts';
import { hasDate, httpDate } from './http-date.ts';
import type { Framing, RequestHead } from './request-head.ts';
import type { ResponseFraming, ResponseHead } from './response-head.ts';
import type { FastUpstreamPool, UpstreamLease, UpstreamSink } from './upstream-types.ts';


const NOTHING: readonly string[] = [];
const NO_BODY: readonly Buffer[] = [];
/** `kept` when the body to resend is the tail of the first attempt's write (`firstWrite`). */
const RESEND_FROM_HEAD: Buffer[] = [];

/** Content-Length bodies below this are gathered into the head's write (the parser's bypass starts at 16 KB). */
const GATHER_MAX = 16 * 1024;

/** What an exchange needs from its downstream connection. */
export interface ExchangeHost {
  push(b: Buffer): void;
  /** Writes what was pushed; false while some of it is still queued in the socket. */
  flush(): boolean;
  /** The client's reading stops until `unblockReads` (a body piece is still referenced upstream). */
  blockReads(): void;
  unblockReads(): void;
  /** Resumes `lease` once everything queued for the client is written. */
  resumeWhenWritten(lease: UpstreamLease): void;
  /** Ends the connection at once (a response cannot be completed). */
  destroy(): void;
  /** The sidecar's inbound side: its 503 for an app that refused the connection is marked (ADR 0022). */
  readonly inbound: boolean;
  draining(): boolean;
  exchangeDone(ex: Exchange): void;
  /** What a kept-alive answer announces (head-writer.ts keepAliveFields), built once per connection. */
  readonly keepAliveLine: string;
  /**
   * The default request timeout of `ex` runs out in `ms` (`ex.defaultTimedOut()`): a deadline on
   * the connection's one timer, as one exchange at a time runs on it, not a Timeout and a
   * closure per request.
   */
  armRequestDeadline(ex: Exchange, ms: number): void;
  clearRequestDeadline(ex: Exchange): void;
}

/** A response's fields after header modifiers, content-length kept (a HEAD or 304 answer's, describing the representation). */
function fieldsOf(headers: Headers): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const v = headers[name]!;
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, v);
  }
  return out;
}

/**
 * upstream-protocol.ts's upstreamHeaders for HTTP/1.1 (no Host, which the head writer puts first,
 * and no TE), copied without them rather than copied and deleted: a deleted property turns the
 * record into a slow dictionary-mode object for everything that reads it after (the attempt
 * event's subscribers, the head writer).
 */
function upstreamFields(headers: Headers): Headers {
  const out: Headers = {};
  for (const name in headers) if (name !== 'host' && name !== 'te') out[name] = headers[name]!;
  return out;
}

/** The inbound side's mark on its 503 when its app refused the connection. */
const UNREACHED_MARK: Readonly<Record<string, string>> = { [UNREACHED_HEADER]: '1' };

const isMark = (name: string): boolean => name.length === UNREACHED_HEADER.length && name.toLowerCase() === UNREACHED_HEADER;

/** A 503's fields without any copy of the unreached mark: the same array when there is none (looked at on 503s only). */
function withoutMark(fields: string[]): string[] {
  let at = -1;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (isMark(fields[i]!)) {
      at = i;
      break;
    }
  }
  if (at < 0) return fields;
  const out = fields.slice(0, at);
  for (let i = at + 2; i + 1 < fields.length; i += 2) if (!isMark(fields[i]!)) out.push(fields[i]!, fields[i + 1]!);
  return out;
}

function recordOf(fields: readonly string[]): Headers {
  const out: Headers = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? fields[i + 1]! : Array.isArray(prev) ? [...prev, fields[i + 1]!] : [prev, fields[i + 1]!];
  }
  return out;
}

// One Exchange per request: its state is in TS-private fields, not #private ones (as the
// upstream connection's and the lease's, upstream-connection.ts): Maglev-compiled code defines
// and stores #fields through V8's DefineKeyedOwnIC / KeyedStoreIC, ~70-100 instructions each,
// some 30 of them per request.
export class Exchange implements UpstreamSink {
  readonly host: ExchangeHost;
  readonly core: ProxyCore;
  readonly head: RequestHead;
  readonly ev: RequestEvent | null;
  /** The connection ends after this exchange (client's choice, close-delimited answer, 400). */
  closeAfter: boolean;
  reqDone = false;
  resDone = false;
  /** The final response head (or our own answer) went to the client. */
  answered = false;
  status = 0;
  private finished = false;
  /** Counted in the core's in-flight requests until release (no closure per request). */
  private inflight = true;
  private readonly plan: ForwardPlan | null;
  private readonly pool: FastUpstreamPool | null;
  private budget: RetryBudget | null = null;
  /** The route sets no retry and the request is routed: the default retry applies (ADR 0022). */
  private defaults = false;
  /** Body copies held for a retry (null: the body is not replayable). */
  private kept: Buffer[] | null = null;
  /**
   * Content-Length body pieces that arrived in the read that carried the head, held until the
   * end of that read (`endOfRead`) or of the request, so the first attempt writes head and body
   * in one `write` (one syscall and one upstream read instead of two per small POST). Held as
   * they came, views of the read buffer too: the attempt starts within that read at the latest
   * and copies them into its head's buffer, so a copy here (~0.6 k instructions: Buffer.from) was a second one.
   */
  private gathered: Buffer[] | null = null;
  /** The first attempt's write, when `kept` is RESEND_FROM_HEAD: its last bytes are the body a default retry resends. */
  private firstWrite: Buffer | null = null;
  private trailers: readonly string[] = [];
  private lease: UpstreamLease | null = null;
  /** The lease whose read is being handled: kept past the response's end for `onReadDone`. */
  private reading: UpstreamLease | null = null;
  private attempt = 0;
  private endpoint: EndpointIR | null = null;
  private failed: EndpointIR | undefined;
  private attemptEv: AttemptEvent | null = null;
  private statsDone: ((failed: boolean) => void) | null = null;
  /** A route's request timeout (the default one is a deadline on the connection's timer). */
  private requestTimer: NodeJS.Timeout | null = null;
  /** The default request timeout is armed on the host. */
  private defaultArmed = false;
  private attemptTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private toClient: 'none' | 'length' | 'chunked' | 'close' = 'none';
  private aborted = false;

  constructor(host: ExchangeHost, core: ProxyCore, head: RequestHead, ev: RequestEvent | null, plan: ForwardPlan | null, pool: FastUpstreamPool | null) {
    this.host = host;
    this.core = core;
    this.head = head;
    this.ev = ev;
    this.plan = plan;
    this.pool = pool;
    this.closeAfter = !head.keepAlive;
    core.inflight.enter();
  }

  /** Answers with the proxy's own response (a refusal, a redirect); the request body is discarded. */
  respond(rejection: Rejection, headers: Readonly<Record<string, string | string[]>>, close: boolean): void {
    if (close) this.closeAfter = true;
    this.answer(rejection, headers);
  }

  /** Starts forwarding: budgets, timeouts, the first attempt. */
  forward(): void {
    const p = this.plan!;
    this.budget = p.group && p.retry ? this.core.budgets.for(p.group) : null;
    this.budget?.request();
    this.defaults = p.retry === null && p.table !== null && this.core.defaultRetry;
    const framing = this.head.framing;
    if ((p.retry?.attempts ?? 0) > 0) {
      if (framing.kind === 'none' || (framing.kind === 'length' && framing.length <= this.core.retryBufferBytes)) this.kept = [];
      else this.core.logOnce(`stream:${p.group ?? p.backend.name}`, `${p.group ?? p.backend.name}: requests without a Content-Length within ${this.core.retryBufferBytes} bytes are streamed and not retried; mirrors get a copy once such a body completes within that bound`);
    }
    const routeMs = p.timeouts?.requestMs ?? null;
    if (routeMs) this.requestTimer = setTimeout(() => this.timedOut(new RequestTimeoutError(routeMs).message), routeMs);
    else if (this.head.framing.kind === 'none') this.armDefault();
    // a small Content-Length body usually came in the same read as its head: the attempt starts
    // at the end of that read (or of the body), with the body in the head's write
    if (framing.kind === 'length' && framing.length < GATHER_MAX) this.gathered = [];
    else this.startAttempt();
  }

  /** The connection's read that delivered this request's bytes is over: a gathering attempt starts. */
  endOfRead(): void {
    if (this.gathered !== null) this.startAttempt();
  }

  /** Whether the body may be relayed outside the parser as views of the read buffer (never copied). */
  get streamsBody(): boolean {
    return this.kept === null && this.plan !== null;
  }

  private armDefault(): void {
    const ms = this.core.defaultRequestTimeoutMs;
    if (ms === null || this.answered || this.plan?.timeouts?.requestMs) return;
    this.defaultArmed = true;
    this.host.armRequestDeadline(this, ms);
  }

  private clearDefault(): void {
    if (!this.defaultArmed) return;
    this.defaultArmed = false;
    this.host.clearRequestDeadline(this);
  }

  /** The default request timeout ran out (the host's deadline): 504, as a route's timeout. */
  defaultTimedOut(): void {
    if (!this.defaultArmed) return;
    this.defaultArmed = false;
    this.timedOut(new RequestTimeoutError(this.core.defaultRequestTimeoutMs ?? 0).message);
  }

  private clearTimers(): void {
    this.clearDefault();
    if (this.requestTimer) clearTimeout(this.requestTimer);
    if (this.attemptTimer) clearTimeout(this.attemptTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.requestTimer = this.attemptTimer = this.retryTimer = null;
  }

  private startAttempt(): void {
    const p = this.plan!;
    this.retryTimer = null;
    const gathered = this.gathered;
    this.gathered = null;
    if (this.kept === RESEND_FROM_HEAD) {
      // a default retry: the body is the first write's tail (our own buffer, not the read's)
      const first = this.firstWrite!;
      this.kept = [first.subarray(first.length - (this.head.framing as { length: number }).length)];
      this.firstWrite = null;
    }
    if (this.aborted) return;
    const endpoint = this.core.balancer.pick(p.backend, this.failed);
    if (!endpoint) {
      this.answer(noHealthyUpstream(`no ready endpoints for ${p.backend.name}`));
      return;
    }
    this.attempt++;
    this.endpoint = endpoint;
    const headers = upstreamFields(p.request.headers);
    markPeerWorkload(headers, isMutualTls(endpoint, this.core.pools.connectOptions));
    const request = { method: p.request.method, authority: p.request.authority, pathAndQuery: p.request.pathAndQuery, headers };
    this.attemptEv = this.ev ? startAttemptEvent(this.ev, this.attempt, false, p.backend.name, endpoint, request) : null;
    this.statsDone = this.core.balancer.stats(endpoint).start();
    const host = typeof p.request.headers.host === 'string' ? p.request.headers.host : p.request.authority;
    // the body received so far (kept for retries, or gathered for this write) goes in the head's
    // write when the framing is Content-Length (no chunk framing for the lease to add)
    const body = this.kept ?? gathered;
    const inHead = body !== null && body.length > 0 && this.head.framing.kind === 'length';
    let head: Buffer;
    try {
      head = writeRequestHeadFrom({ method: request.method, target: request.pathAndQuery, host, framing: this.head.framing }, headers, inHead ? body : NO_BODY);
    } catch (err) {
      this.endAttempt(500, (err as Error).message, false);
      this.answer(internalError(`cannot write the upstream request: ${(err as Error).message}`));
      return;
    }
    // a whole body gathered into the first write is what a default retry resends (no copy made
    // for it): the write's own bytes when it carries the body (the gathered pieces may be views of
    // the read, overwritten by the next one), taken from it only if a retry comes
    if (this.defaults && gathered !== null && this.reqDone && this.kept === null) {
      if (inHead) {
        this.kept = RESEND_FROM_HEAD;
        this.firstWrite = head;
      } else this.kept = gathered;
    }
    const ms = p.timeouts?.backendRequestMs ?? null;
    if (ms) this.attemptTimer = setTimeout(() => this.attemptTimedOut(ms), ms);
    try {
      // the table's endpoint object itself: the pool finds its connections by it (upstream-pool.ts)
      this.lease = this.pool!.send(endpoint, { method: request.method, head, framing: this.head.framing }, this);
    } catch (err) {
      // a full queue is no failure of the endpoint's: a route retry may try again, the default one does not
      this.attemptFailed(upstreamUnavailable(`upstream connect error or reset: ${(err as Error).message}`), !this.defaults);
      return;
    }
    this.reading = this.lease;
    if (body !== null && !inHead) for (const piece of body) this.lease.write(piece);
    if (this.reqDone) this.lease.end(this.trailers);
  }

  // ---- after the write: bookkeeping the client does not wait for ----

  /** A response head's attempt end is due (its status and whether the peer could not reach its app). */
  private attemptEndDue = false;
  private headStatus = 0;
  private headUnreached = false;
  /** The response ended in this read: the exchange's end is due once the read's bytes are written. */
  private doneDue = false;

  /** What the last read left for after its write (onReadDone). */
  private afterWrite(): void {
    if (this.attemptEndDue) this.endHeadAttempt();
    if (this.doneDue) {
      this.doneDue = false;
      this.maybeDone();
    }
  }

  private endHeadAttempt(): void {
    this.attemptEndDue = false;
    this.endAttempt(this.headStatus, null, this.headUnreached);
    if (!this.headUnreached) this.core.balancer.reached(this.endpoint!);
  }

  private endAttempt(status: number, error: string | null, failed: boolean): void {
    // an attempt whose head arrived ends as that head said, whatever ends the exchange now
    if (this.attemptEndDue) {
      this.endHeadAttempt();
      return;
    }
    this.statsDone?.(failed);
    this.statsDone = null;
    if (this.attemptEv) endAttemptEvent(this.attemptEv, status, error);
    this.attemptEv = null;
    if (this.attemptTimer) clearTimeout(this.attemptTimer);
    this.attemptTimer = null;
  }

  private canRetry(): boolean {
    const p = this.plan!;
    if (this.defaults) {
      // the default retry: another endpoint, a body to resend (or none), within the group's budget
      return (this.kept !== null || this.head.framing.kind === 'none') && this.attempt <= DEFAULT_RETRIES && !this.aborted && !this.answered
        && this.core.balancer.hasOther(p.backend, this.endpoint!) && this.core.budgets.forDefaultRetry(p.group, p.backend.name).tryRetry();
    }
    return this.kept !== null && this.attempt <= (p.retry?.attempts ?? 0) && !this.aborted && !this.answered && (this.budget?.tryRetry() ?? true);
  }

  private retryLater(): void {
    const p = this.plan!;
    this.failed = this.endpoint ?? undefined;
    this.retryTimer = setTimeout(() => {
      this.startAttempt();
      // an attempt that ends at once (no endpoint left, a connect refused) answered from a timer
      this.host.flush();
    }, retryDelayMs(p.retry?.backoffMs, this.attempt - 1, this.core.random));
  }

  /** `unreached`: the attempt could not connect (the inbound side then marks its 503). */
  private attemptFailed(rejection: Rejection, retriable: boolean, unreached = false): void {
    this.lease = null;
    this.endAttempt(rejection.status, rejection.detail, rejection.status === 503);
    if (retriable && this.canRetry()) this.retryLater();
    else this.answer(rejection, unreached && this.host.inbound ? UNREACHED_MARK : {});
  }

  private attemptTimedOut(ms: number): void {
    this.attemptTimer = null;
    this.lease?.destroy();
    if (this.answered) {
      this.abortMidResponse('backend timeout while relaying the body');
      return;
    }
    this.attemptFailed(upstreamTimeout(new BackendTimeoutError(ms).message), !this.defaults);
    // a timer, not a read, got here: nothing else writes what the answer pushed
    this.host.flush();
  }

  private timedOut(detail: string): void {
    this.requestTimer = null;
    this.lease?.destroy();
    this.lease = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.answered) {
      this.abortMidResponse(detail);
      return;
    }
    this.endAttempt(504, detail, false);
    this.answer(upstreamTimeout(detail));
    this.host.flush();
  }

  /** The stream idle timeout fired: 408 if nothing was answered (the connection then closes), else a reset. */
  idleTimeout(): void {
    const error = new StreamIdleTimeoutError(this.core.streamIdleTimeoutMs ?? 0).message;
    if (this.answered) {
      this.abortMidResponse(error);
      return;
    }
    this.lease?.destroy();
    this.lease = null;
    this.endAttempt(408, error, false);
    this.closeAfter = true;
    this.answer(clientError(408, 'stream idle timeout'));
    if (this.ev) this.ev.error = error;
    this.abort(error);
  }

  private abortMidResponse(error: string): void {
    if (this.ev) this.ev.error = error;
    this.abort(error);
    this.host.destroy();
  }

  private answer(rejection: Rejection, headers: Readonly<Record<string, string | string[]>> = {}): void {
    if (this.answered) return;
    const { status, detail } = rejection;
    if (status >= 500) this.core.logger.warn(`${status} for ${this.head.method} ${this.head.target}`, { status, reason: detail });
    if (this.ev && status >= 400) this.ev.error = detail;
    // A malformed request leaves the connection's framing in doubt (error-response.ts does the same).
    if (status === 400) this.closeAfter = true;
    const close = this.closeAfter || this.host.draining();
    this.host.push(rejectionBytes(rejection, headers, close, this.host.keepAliveLine, this.head.method === 'HEAD'));
    this.answered = true;
    this.status = status;
    this.resDone = true;
    this.lease = null;
    this.maybeDone();
  }

  // ---- the request body, from the connection's parser ----

  /** A body piece; `view`: it lives in the connection's reused read buffer. */
  onRequestBody(piece: Buffer, view: boolean): void {
    if (this.ev && this.head.framing.kind === 'chunked') this.ev.requestBytes += piece.length;
    if (this.kept !== null) {
      piece = view ? Buffer.from(piece) : piece;
      this.kept.push(piece);
      if (this.gathered !== null) return;
    } else if (this.gathered !== null) {
      // a view too: the attempt starts (and copies it into its write) before this read ends
      this.gathered.push(piece);
      return;
    }
    if (this.lease !== null && !this.resDone && !this.lease.write(piece)) this.host.blockReads();
  }

  onRequestEnd(trailers: readonly string[]): void {
    this.reqDone = true;
    this.trailers = trailers;
    // a gathering attempt starts now, the whole body in its first write (and ends the request)
    if (this.gathered !== null && !this.answered && !this.aborted) this.startAttempt();
    else if (this.lease !== null && !this.resDone) this.lease.end(trailers);
    if (this.plan !== null && !this.answered && this.requestTimer === null && !this.defaultArmed) this.armDefault();
    this.maybeDone();
  }

  // ---- UpstreamSink ----

  onResponseHead(h: ResponseHead): void {
    if (h.status < 200) {
      // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client
      if (h.status !== 101 && this.head.versionMinor === 1 && !this.answered) this.host.push(writeResponseHead(h, { kind: 'none' }, false));
      return;
    }
    const p = this.plan!;
    let fields = h.fields;
    // a peer meshlet's 503 for an app that refused (ADR 0022): the mark is removed from every 503,
    // whoever sent it (an app may relay one it got through a passthrough hop), and believed only
    // from a meshed endpoint
    let unreached = false;
    if (h.status === 503) {
      const stripped = withoutMark(fields);
      if (stripped !== fields) {
        fields = stripped;
        if (this.endpoint!.identity !== null) {
          unreached = true;
          if (p.table !== null) this.core.balancer.avoid(this.endpoint!);
        }
      }
    }
    if ((this.defaults ? unreached : p.retry?.codes.includes(h.status)) && this.canRetry()) {
      this.lease?.destroy();
      this.lease = null;
      this.endAttempt(h.status, unreached ? 'the peer could not reach its app' : null, unreached);
      this.retryLater();
      return;
    }
    // the attempt's end (balancer statistics, telemetry) is bookkeeping the client does not wait
    // for: it runs after the write that carries this head (afterWrite), or first thing if
    // anything ends the attempt before that
    this.headStatus = h.status;
    this.headUnreached = unreached;
    this.attemptEndDue = true;
    if (this.attemptTimer) clearTimeout(this.attemptTimer);
    this.attemptTimer = null;
    // the default timeout runs to the response head only (a route's runs to the response's end)
    this.clearDefault();
    if (p.responseHeaders.length > 0) {
      let record = recordOf(fields);
      for (const mod of p.responseHeaders) record = applyHeaderModifier(record, mod);
      fields = fieldsOf(record);
    }
    let framing: Framing | ResponseFraming = h.framing;
    if (h.framing.kind === 'chunked' || h.framing.kind === 'until-close') {
      if (this.head.versionMinor === 1) this.toClient = 'chunked';
      else {
        this.toClient = 'close';
        this.closeAfter = true;
        framing = { kind: 'none' };
      }
    } else this.toClient = h.framing.kind === 'length' ? 'length' : 'none';
    const close = this.closeAfter || this.host.draining();
    if (close) this.closeAfter = true;
    // our Date only when the sender gave none, written unchecked (http-date.ts makes it)
    const date = hasDate(fields) ? '' : httpDate();
    try {
      // the upstream's field lines copied as they came when nothing changed them (head-writer.ts)
      if (fields === h.fields && h.raw !== null) this.host.push(writeResponseHeadRaw(h.status, h.reason, h.raw, framing, close, this.host.keepAliveLine, date));
      else this.host.push(writeResponseHead(fields === h.fields ? h : { status: h.status, reason: h.reason, fields }, framing, close, NOTHING, this.host.keepAliveLine, date));
    } catch (err) {
      this.lease?.destroy();
      this.lease = null;
      this.answer(internalError(`cannot write the response head: ${(err as Error).message}`));
      return;
    }
    this.answered = true;
    this.status = h.status;
  }

  onResponseBody(piece: Buffer): void {
    if (!this.answered || this.resDone) return;
    if (this.ev) this.ev.responseBytes += piece.length;
    if (this.toClient === 'chunked') {
      this.host.push(chunkHeader(piece.length));
      this.host.push(piece);
      this.host.push(CRLF);
    } else this.host.push(piece);
  }

  onResponseEnd(trailers: string[]): void {
    if (!this.answered || this.resDone) return;
    if (this.toClient === 'chunked') this.host.push(lastChunk(trailers));
    this.lease = null;
    this.resDone = true;
    // the exchange's end (timers, the in-flight count, the request event, the connection's next
    // request) waits for the write of this read (onReadDone, which the pool calls after the read
    // that ended the response): the client's answer goes out first
    this.doneDue = true;
  }

  onReadDone(): boolean {
    const written = this.host.flush();
    this.afterWrite();
    if (written) return true;
    // what this read produced is still queued (and may point into the upstream's read buffer)
    if (this.reading !== null) this.host.resumeWhenWritten(this.reading);
    return false;
  }

  onRequestDrain(): void {
    this.host.unblockReads();
  }

  onUpstreamError(err: Error, responseStarted: boolean): void {
    this.lease = null;
    if (this.answered) {
      this.abortMidResponse(`upstream reset while relaying the body: ${err.message}`);
      return;
    }
    // a loss here is a fresh connection's (the lease already resent a request that met a closing
    // kept-alive one, ADR 0024): judged by method, as on the general path (ADR 0022)
    const cause = responseStarted ? null : unreachedCause(err, this.head.method);
    // routed endpoints only: a passthrough destination or the app is never in a pick
    if (cause === 'connect-failure' && this.plan!.table !== null) this.core.balancer.avoid(this.endpoint!);
    const retriable = this.defaults ? cause !== null : !responseStarted;
    this.attemptFailed(upstreamUnavailable(`upstream connect error or reset: ${err.message}`), retriable, cause === 'connect-failure');
    this.host.flush();
  }

  // ---- end ----

  private maybeDone(): void {
    if (this.finished || !this.reqDone || !this.resDone) return;
    // the attempt ends before the request it belongs to (an answer of our own after a head: a head we could not write)
    if (this.attemptEndDue) this.endHeadAttempt();
    this.finished = true;
    this.clearTimers();
    this.release();
    if (this.ev) endRequest(this.ev, this.status, this.ev.error);
    this.host.exchangeDone(this);
  }

  private release(): void {
    if (!this.inflight) return;
    this.inflight = false;
    this.core.inflight.leave();
  }

  /** The client went away, or the connection failed: the upstream side is abandoned. */
  abort(error: string): void {
    if (this.finished) return;
    this.finished = true;
    this.aborted = true;
    this.clearTimers();
    this.lease?.destroy();
    this.lease = null;
    this.endAttempt(this.status || 0, error, false);
    this.release();
    if (this.ev) endRequest(this.ev, this.status, this.ev.error ?? error);
  }
}
