// Spans from the data plane's events. A hop that receives a request (inbound, gateway) records
// a SERVER span; every attempt it sends (retries and mirrors apart) is a CLIENT span under it.
// The outbound side is the app's own call: its CLIENT spans hang under the context the app
// sent, and only when the app sent none does the sidecar open a SERVER span as the root, so
// retries of one call stay together. Unsampled requests build no span: they only carry the
// trace context on, so the next hop agrees with this one's decision; in the common forms (no
// context, or a W3C one already unsampled) that costs one string or nothing, and with no other
// telemetry on, no request event either (`head`). Sampled spans are
// meshlet's own records (span-record.ts), handed to the export queue when they end.
import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { setTraceHook, TRACE_NO_EVENT, TRACE_UNDECIDED, type HeaderValues, type RequestEvent, type RequestObserver, type SiteKind, type TraceHook } from '../events.ts';
import { unsampledTraceparent } from './ids.ts';
import { canonicalTraceparentFlag, DEFAULT_PROPAGATION, type B3Form, type Propagation } from './propagation.ts';
import { shouldSample, type SamplingPolicy } from './sampling.ts';
import { isClientError, isServerError, spanName } from './span-attributes.ts';
import { startSpan, type SpanRecord, type SpanSink } from './span-record.ts';

interface RequestState {
  span: SpanRecord | null;
  /** What attempts descend from: the SERVER span, the caller's context, or an unsampled root. */
  parent: SpanContext | null;
  sampled: boolean;
  b3: B3Form;
  requestId: string | null;
}

/** An unsampled request on the fast path that also needs an x-request-id (the ingress). */
interface Forwarded {
  traceparent: string;
  requestId: string;
}

export interface RequestTracer {
  traceIdOf: (ev: RequestEvent) => string;
  stop: () => void;
}

// An unsampled root's traceparent is a slice of a batch of them rendered at once (ids.ts), so it
// costs one string: the header value itself, not IDs, a context object and a template literal.
export { unsampledTraceparent };

function contextOf(traceparent: string): SpanContext {
  return { traceId: traceparent.slice(3, 35), spanId: traceparent.slice(36, 52), traceFlags: TraceFlags.NONE, isRemote: false };
}

function hasB3(h: RequestEvent['headers']): boolean {
  return h.b3 !== undefined || h['x-b3-traceid'] !== undefined;
}

// TraceHook.head's decisions for a request that needs its event, handed back to `start` with it.
/** A root this hop starts and sampled (the ratio drawn once, in `head`). */
const ROOT_SAMPLED = 2;
/** A caller's context in the canonical sampled form (`canonicalTraceparentFlag` read 1). */
const CALLER_SAMPLED = 3;

function callerContext(tp: string): SpanContext {
  return { traceId: tp.slice(3, 35), spanId: tp.slice(36, 52), traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

export function startRequestTracer(sink: SpanSink, policy: SamplingPolicy, propagation: Propagation = DEFAULT_PROPAGATION): RequestTracer {
  const { extract, inject } = propagation;
  // The unsampled fast path writes W3C traceparent alone, which is what the default propagation
  // writes when no B3 and no tracestate came in; other OTEL_PROPAGATORS take the general path.
  const fast = propagation === DEFAULT_PROPAGATION;
  // Per-request state lives on the event (ev.tracing), not in a WeakMap: a WeakMap entry per
  // request and attempt made the GC trace ephemerons in every scavenge, which was most of what
  // tracing cost an unsampled request (bench/telemetry-subscribers.ts). An unsampled request's
  // state is the traceparent string it forwards (no object; at the ingress, with the x-request-id
  // it adds, a Forwarded); a sampled one's a RequestState. A sampled attempt's span is its
  // event's `tracing` field.
  //
  // The tracer is no channel subscriber: it hooks into the engine (TraceHook, events.ts). Where
  // the engine asks before building a request's event (`head`, the fast path) and nobody else
  // wants events, an unsampled request gets no event at all: its context goes into the planned
  // request's headers. Every event that is built reaches `start`, and what the tracer needs later
  // of its request it says on it (ev.observer): `forwarding` for an unsampled one, which only
  // writes the trace context into each attempt's headers (no attempt event is built for it, no
  // end is published to it); `recording` for a sampled one, which gets its attempts' events and
  // its end.
  const forwarding: RequestObserver = {
    attempts: false,
    attemptStart: (request, headers) => {
      const st = request.tracing as string | Forwarded | RequestState;
      if (typeof st === 'string') {
        // a retry's headers already carry it (the fast path copies them per attempt; the
        // general path writes into one object per request)
        if (headers.traceparent !== st) headers.traceparent = st;
      } else if ('traceparent' in st) {
        headers.traceparent = st.traceparent;
        headers['x-request-id'] = st.requestId;
      } else {
        if (st.requestId) headers['x-request-id'] = st.requestId;
        if (st.parent) inject(headers, st.parent, st.b3);
      }
    },
    attemptEnd: () => undefined,
    requestEnd: () => undefined,
  };

  const recording: RequestObserver = {
    attempts: true,
    attemptStart: (request, headers, at) => {
      const st = request.tracing as RequestState;
      if (st.requestId) headers['x-request-id'] = st.requestId;
      const parent = st.parent;
      const span = startSpan(sink, SpanKind.CLIENT, spanName(at!.method, request.routePath), parent, at!.startNs);
      at!.tracing = span;
      inject(headers, span, st.b3);
    },
    attemptEnd: (at) => {
      const span = at.tracing as SpanRecord | null | undefined;
      if (!span || span.endNs !== 0n) return;
      span.source = at;
      if (isClientError(at.status)) span.status = { code: SpanStatusCode.ERROR, message: at.error ?? undefined };
      span.endNs = at.endNs || process.hrtime.bigint();
      sink.end(span);
    },
    requestEnd: (ev) => {
      const span = (ev.tracing as RequestState).span;
      if (!span || span.endNs !== 0n) return;
      span.name = spanName(ev.method, ev.routePath);
      span.source = ev;
      if (isServerError(ev.status, ev.error)) span.status = { code: SpanStatusCode.ERROR, message: ev.error ?? undefined };
      span.endNs = ev.endNs || process.hrtime.bigint();
      sink.end(span);
    },
  };

  /** An unsampled request that forwards `traceparent` as it is (plus, at the ingress, an x-request-id). */
  const forward = (ev: RequestEvent, traceparent: string, requestId: string | null): void => {
    ev.tracing = requestId === null ? traceparent : { traceparent, requestId } satisfies Forwarded;
    ev.observer = forwarding;
  };

  /**
   * The decision from the head alone, before any event (TraceHook.head): the common forms (no
   * context, or a W3C one in the canonical form) are decided here; an unsampled one writes what
   * it forwards into `upstream` and needs no event. Anything else is decided at `start`.
   */
  const head = (site: SiteKind, h: Readonly<HeaderValues>, upstream: Record<string, string | string[]> | null): number => {
    if (!fast || h.tracestate !== undefined || hasB3(h)) return TRACE_UNDECIDED;
    const tp = h.traceparent;
    if (tp === undefined) {
      if (shouldSample(policy, null)) return ROOT_SAMPLED;
      // A root this hop does not sample: a fresh unsampled traceparent (none when nothing is sent).
      if (upstream !== null) upstream.traceparent = unsampledTraceparent();
    } else if (typeof tp === 'string') {
      const flag = canonicalTraceparentFlag(tp);
      if (flag === 1) return CALLER_SAMPLED;
      if (flag !== 0 || !policy.parentBased) return TRACE_UNDECIDED;
      // The caller's "not sampled" goes on as received (a route's modifier may have removed it).
      if (upstream !== null && upstream.traceparent !== tp) upstream.traceparent = tp;
    } else return TRACE_UNDECIDED;
    if (upstream !== null && site === 'gateway' && h['x-request-id'] === undefined) upstream['x-request-id'] = randomUUID();
    return TRACE_NO_EVENT;
  };

  const start = (ev: RequestEvent, decision: number): void => {
    const h = ev.headers;
    const requestId = ev.site === 'gateway' && h['x-request-id'] === undefined ? randomUUID() : null;
    // A root's decision, when the fast path already drew it (drawn once: a second draw would
    // sample at ratio²).
    let rootSampled: boolean | null = decision === ROOT_SAMPLED ? true : null;
    // A caller's context in the canonical sampled form, read without the general parser.
    let caller: SpanContext | null = decision === CALLER_SAMPLED ? callerContext(h.traceparent as string) : null;
    if (decision === TRACE_UNDECIDED && fast && h.tracestate === undefined && !hasB3(h)) {
      const tp = h.traceparent;
      if (tp === undefined) {
        // No context came in: this hop is the root. Unsampled, it only writes a fresh traceparent.
        rootSampled = shouldSample(policy, null);
        if (!rootSampled) { forward(ev, unsampledTraceparent(), requestId); return; }
      } else if (typeof tp === 'string') {
        const flag = canonicalTraceparentFlag(tp);
        // The caller said "not sampled" in the form we write: forward its header unchanged.
        if (flag === 0 && policy.parentBased) { forward(ev, tp, requestId); return; }
        if (flag === 1) caller = callerContext(tp);
      }
    }
    const incoming = caller ? null : extract(h);
    let parent = caller ?? incoming!.parent;
    const b3 = incoming ? incoming.b3 : null;
    const parentSampled = parent ? (parent.traceFlags & 1) === 1 : null;
    const sampled = rootSampled ?? shouldSample(policy, parentSampled);
    let span: SpanRecord | null = null;
    if (sampled && (ev.site !== 'outbound' || !parent)) {
      span = startSpan(sink, SpanKind.SERVER, ev.method, parent, ev.startNs);
      parent = span;
    } else if (!parent) {
      // Carry this hop's "no" on, so the next hop does not start a fragment of its own.
      parent = sampled ? null : contextOf(unsampledTraceparent());
    }
    ev.tracing = { span, parent, sampled, b3, requestId } satisfies RequestState;
    ev.observer = sampled ? recording : forwarding;
  };

  const hook: TraceHook = { head, start };
  setTraceHook(hook);
  return {
    traceIdOf: (ev) => {
      const st = ev.tracing as string | Forwarded | RequestState | null | undefined;
      return typeof st === 'string' ? st.slice(3, 35) : !st ? '' : 'traceparent' in st ? st.traceparent.slice(3, 35) : st.parent?.traceId ?? '';
    },
    stop: () => { setTraceHook(null, hook); },
  };
}
