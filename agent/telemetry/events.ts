// The data plane's telemetry hook: every request, attempt and tunnel is published on
// node:diagnostics_channel (what undici and Node core use). Tracing, metrics and access logs
// subscribe (the tracer through its own hooks, `TraceHook`); the proxy knows none of them. When
// nobody observes, no event object is built (`requestsObserved()` is checked first), so an
// unobserved proxy pays one boolean test per request; with the tracer alone, a request it does
// not sample builds none either where the engine asks first (`requestEventWanted`, the fast path).
// Likewise no attempt event is built when nobody listens to attempts (the metrics alone count
// retries from the request's `attempts` at its end, and mirrors on their own channel) and the
// request's own observer does not ask for them: the tracer hooks into the requests it samples
// (`RequestEvent.observer`); for the others it only writes the trace context into each attempt's
// headers, with no attempt event, timestamps or publish.
//
// One event object travels from start to end: subscribers may keep per-request state on it
// (under a symbol of their own: a WeakMap entry per request costs the GC more than the rest of
// an unsampled request's tracing), and an attempt's `headers` may be extended at attempt:start
// (trace context).
import dc from 'node:diagnostics_channel';

/** Where a request entered: the sidecar's inbound or outbound side, or a Gateway listener. */
export type SiteKind = 'inbound' | 'outbound' | 'gateway';

export type HeaderValues = Record<string, string | string[] | undefined>;

export interface RequestEvent {
  site: SiteKind;
  method: string;
  scheme: 'http' | 'https';
  authority: string;
  /** Path without the query string. */
  path: string;
  /** Downstream protocol: 'http/1.1' or 'h2'. */
  protocol: string;
  /**
   * The downstream request's headers as received, for what subscribers read (trace context,
   * x-request-id, user-agent, content-type); read-only. On the fast path it is the object the
   * hop forwards, not a copy: the site's own decorations (XFCC on the inbound side, X-Forwarded-*
   * at the ingress) may show in it, and the caller's workload header, which the inbound side
   * removes, is kept in `peerWorkloadHeader`.
   */
  headers: Readonly<HeaderValues>;
  /** The caller's x-meshlet-peer-workload header as received (unverified: see peer-workload.ts). */
  peerWorkloadHeader?: string | string[] | undefined;
  remoteAddress: string;
  /** process.hrtime.bigint() when the request head was received. */
  startNs: bigint;
  /** IR rule name (`httproute/<ns>/<name>/rule/<i>`) once routed; null for direct/unrouted. */
  rule: string | null;
  /** The rule's path match, for span names (`/api`), or null. */
  routePath: string | null;
  backend: string | null;
  /** `address:port` of the last attempt's endpoint. */
  upstream: string | null;
  /** Expected SPIFFE ID of that endpoint, when meshed. */
  upstreamIdentity: string | null;
  /** Pod behind that endpoint, when the routing table names it (for destination_workload). */
  upstreamPod?: string | null;
  /** The caller's SPIFFE ID (inbound over mTLS), when known. */
  peerIdentity: string | null;
  attempts: number;
  status: number;
  requestBytes: number;
  responseBytes: number;
  endNs: bigint;
  /** Why the proxy answered itself or the exchange failed; null when relayed normally. */
  error: string | null;
  /** grpc-status of a gRPC answer (trailers, or headers when trailers-only); null otherwise. */
  grpcStatus: string | null;
  /**
   * The tracer's per-request state (tracing/tracer.ts), declared with the event so storing it
   * does not grow the object: for an unsampled request it is just the traceparent to forward.
   */
  tracing?: unknown;
  /**
   * Who wants this one request's attempts and end beyond the channels' subscribers: set at
   * request:start by the tracer, which needs them for some requests only (an unsampled request
   * only has its trace context written into each attempt's headers, with no attempt event built
   * for it when nobody subscribes to the attempt channels). null when nobody.
   */
  observer?: RequestObserver | null;
}

/**
 * A subscriber's hooks into one request (`RequestEvent.observer`), called by the event builders
 * before the channels publish, so what `attemptStart` writes into the headers is what the
 * channels' subscribers and the upstream see.
 */
export interface RequestObserver {
  /** Whether it wants attempt events (`at` in attemptStart, then attemptEnd) for this request. */
  readonly attempts: boolean;
  /**
   * An attempt (a mirror too) is about to be sent with `headers`, which it may add to; `at` is its
   * event, or null when none is built (`attempts` false and nobody subscribes to attempts).
   */
  attemptStart(request: RequestEvent, headers: Record<string, string | string[]>, at: AttemptEvent | null): void;
  attemptEnd(at: AttemptEvent): void;
  requestEnd(ev: RequestEvent): void;
}

export interface AttemptEvent {
  request: RequestEvent | null;
  /** 1 for the first try; mirrors count separately from 1. */
  attempt: number;
  mirror: boolean;
  backend: string;
  upstream: string;
  upstreamIdentity: string | null;
  method: string;
  authority: string;
  pathAndQuery: string;
  /** Upstream request headers: a subscriber to attempt:start may add to them (traceparent). */
  headers: Record<string, string | string[]>;
  startNs: bigint;
  status: number;
  endNs: bigint;
  error: string | null;
  /**
   * The tracer's span for this attempt (sampled requests), declared with the event: stored under
   * a key of its own, it added a property to every sampled attempt's event (a new hidden class
   * for every reader of attempt events after it).
   */
  tracing?: unknown;
}

export interface TunnelEvent {
  site: SiteKind;
  kind: 'tcp' | 'websocket';
  remoteAddress: string;
  upstream: string;
  /** The caller's verified SPIFFE ID (inbound over mTLS), when known. */
  peerIdentity: string | null;
  /** The upstream's expected SPIFFE ID when the tunnel to it is mutual TLS. */
  upstreamIdentity: string | null;
  /** The caller's workload as its proxy named it over mTLS (TCP preamble, peer-workload.ts). */
  peerWorkload?: string | null;
  /** Pod behind the upstream endpoint, when the routing table names it (destination_workload). */
  upstreamPod?: string | null;
  startNs: bigint;
  /** Bytes from the client to the upstream, and back. */
  bytesIn: number;
  bytesOut: number;
  endNs: bigint;
  error: string | null;
}

export const CHANNELS = {
  requestStart: 'meshlet:request:start',
  requestEnd: 'meshlet:request:end',
  attemptStart: 'meshlet:attempt:start',
  attemptEnd: 'meshlet:attempt:end',
  tunnelStart: 'meshlet:tunnel:start',
  tunnelEnd: 'meshlet:tunnel:end',
  /** A mirrored copy's attempt ended (also published on attemptEnd when that has listeners). */
  mirrorEnd: 'meshlet:mirror:end',
} as const;

export const requestStart = dc.channel(CHANNELS.requestStart);
export const requestEnd = dc.channel(CHANNELS.requestEnd);
export const attemptStart = dc.channel(CHANNELS.attemptStart);
export const attemptEnd = dc.channel(CHANNELS.attemptEnd);
export const tunnelStart = dc.channel(CHANNELS.tunnelStart);
export const tunnelEnd = dc.channel(CHANNELS.tunnelEnd);
export const mirrorEnd = dc.channel(CHANNELS.mirrorEnd);

/**
 * The tracer's hooks (tracing/tracer.ts), when tracing is on. The tracer is not a channel
 * subscriber: it wants the events of the requests it samples only. Where the engine can ask
 * before building an event (the fast path, once the request is planned), `head` decides from the
 * request's head; a request it does not sample then has what it forwards written into the
 * headers its attempts copy, and needs no event at all when no channel has subscribers (at 1 %
 * sampling the 99 % pay the propagation alone, not an event's fields, stamps and publishes that
 * nobody reads). Every event that is built is handed to `start` before the channel publishes it,
 * so subscribers see the tracer's state on it as before. One tracer per process, as before (two
 * would overwrite each other's state on the event).
 */
export interface TraceHook {
  /**
   * TRACE_NO_EVENT when the request needs no event from the tracer (it is not sampled, and its
   * trace context, with the ingress's x-request-id, is now in `upstream`; null when the request
   * is answered by the proxy, with no attempt). Anything else is a decision to hand back to
   * `start` with the request's event (a root's sampling draw is taken once).
   */
  head(site: SiteKind, headers: Readonly<HeaderValues>, upstream: Record<string, string | string[]> | null): number;
  start(ev: RequestEvent, decision: number): void;
}

/** TraceHook.head: the tracer needs no event for this request. */
export const TRACE_NO_EVENT = 0;
/** A request the tracer has not looked at yet (it decides at `start` from the event). */
export const TRACE_UNDECIDED = 1;

let traceHook: TraceHook | null = null;

/** Sets (or with null clears) the tracer's hooks; clearing only removes `hook` itself. */
export function setTraceHook(hook: TraceHook | null, current?: TraceHook): void {
  if (hook !== null || traceHook === current) traceHook = hook;
}

/** Whether a channel has subscribers for request or attempt events. */
function channelsObserved(): boolean {
  return requestStart.hasSubscribers || requestEnd.hasSubscribers || attemptStart.hasSubscribers || attemptEnd.hasSubscribers || mirrorEnd.hasSubscribers;
}

/** Whether anyone observes requests: a channel's subscriber or the tracer (decides whether events are built). */
export function requestsObserved(): boolean {
  return traceHook !== null || channelsObserved();
}

/**
 * For a request about to be forwarded (`upstream`: the headers its attempts copy) or answered by
 * the proxy (null): TRACE_NO_EVENT when nobody needs its event (no channel subscriber, and the
 * tracer, if on, does not sample it: it has written what the request forwards into `upstream`);
 * otherwise the value to build the event with (`publishRequestStart`).
 */
export function requestEventWanted(site: SiteKind, headers: Readonly<HeaderValues>, upstream: Record<string, string | string[]> | null): number {
  if (channelsObserved()) return TRACE_UNDECIDED;
  return traceHook === null ? TRACE_NO_EVENT : traceHook.head(site, headers, upstream);
}

/** A request's event starts: the tracer sees it first (it sets `tracing` and `observer`), then the channel's subscribers. */
export function publishRequestStart(ev: RequestEvent, decision: number): void {
  if (traceHook !== null) traceHook.start(ev, decision);
  requestStart.publish(ev);
}

/** Whether an attempt event is wanted: someone listens to attempts, or to mirrors and this is one. */
export function attemptsObserved(mirror: boolean): boolean {
  return attemptStart.hasSubscribers || attemptEnd.hasSubscribers || (mirror && mirrorEnd.hasSubscribers);
}

export function tunnelsObserved(): boolean {
  return tunnelStart.hasSubscribers || tunnelEnd.hasSubscribers;
}

export function endRequest(ev: RequestEvent, status: number, error: string | null): void {
  if (ev.endNs !== 0n) return;
  ev.status = status;
  ev.error = error;
  ev.endNs = process.hrtime.bigint();
  if (ev.observer) ev.observer.requestEnd(ev);
  requestEnd.publish(ev);
}
