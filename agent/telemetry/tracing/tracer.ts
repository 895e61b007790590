// Spans from the data plane's events. A hop that receives a request (inbound, gateway) records
// a SERVER span; every attempt it sends (retries and mirrors apart) is a CLIENT span under it.
// The outbound side is the app's own call: its CLIENT spans hang under the context the app
// sent, and only when the app sent none does the sidecar open a SERVER span as the root, so
// retries of one call stay together. Unsampled requests build no span: they only carry the
// trace context on, so the next hop agrees with this one's decision; in the common forms (no
// context, or a W3C one already unsampled) that costs one string or nothing. Sampled spans are
// meshlet's own records (span-record.ts), handed to the export queue when they end.
import dc from 'node:diagnostics_channel';
import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { CHANNELS, type RequestEvent, type RequestObserver } from '../events.ts';
import { randomSpanId, randomTraceId, writeRandomHex } from './ids.ts';
import { canonicalTraceparentFlag, DEFAULT_PROPAGATION, type B3Form, type Propagation } from './propagation.ts';
import { shouldSample, type SamplingPolicy } from './sampling.ts';
import { isClientError, isServerError, spanName } from './span-attributes.ts';
import { SpanRecord, type SpanSink } from './span-record.ts';

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

// An unsampled root's IDs are written as hex straight into a traceparent template (ids.ts's
// pooled random bytes), so it costs one string: the header value itself, not IDs, a context
// object and a template literal.
const line = Buffer.from(`00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`, 'latin1');

/** A fresh traceparent for a trace this hop starts and does not sample: `00-<trace>-<span>-00`. */
export function unsampledTraceparent(): string {
  // All-zero IDs are invalid (W3C): draw again (one chance in 2^64).
  for (;;) if (writeRandomHex(line, 3, 16) && writeRandomHex(line, 36, 8)) return line.toString('latin1');
}

function contextOf(traceparent: string): SpanContext {
  return { traceId: traceparent.slice(3, 35), spanId: traceparent.slice(36, 52), traceFlags: TraceFlags.NONE, isRemote: false };
}

function hasB3(h: RequestEvent['headers']): boolean {
  return h.b3 !== undefined || h['x-b3-traceid'] !== undefined;
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
  // The tracer subscribes to request:start alone. What it needs later of a request it says on
  // the event (ev.observer, events.ts): `forwarding` for an unsampled one, which only writes the
  // trace context into each attempt's headers (no attempt event is built for it, no end is
  // published to it); `recording` for a sampled one, which gets its attempts' events and its end.
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
      const span = new SpanRecord(sink, SpanKind.CLIENT, spanName(at!.method, request.routePath),
        parent ? parent.traceId : randomTraceId(), randomSpanId(), parent, at!.startNs);
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

  const onRequestStart = (m: unknown): void => {
    const ev = m as RequestEvent;
    const h = ev.headers;
    const requestId = ev.site === 'gateway' && h['x-request-id'] === undefined ? randomUUID() : null;
    // A root's decision, when the fast path already drew it (drawn once: a second draw would
    // sample at ratio²).
    let rootSampled: boolean | null = null;
    // A caller's context in the canonical sampled form, read without the general parser.
    let caller: SpanContext | null = null;
    if (fast && h.tracestate === undefined && !hasB3(h)) {
      const tp = h.traceparent;
      if (tp === undefined) {
        // No context came in: this hop is the root. Unsampled, it only writes a fresh traceparent.
        rootSampled = shouldSample(policy, null);
        if (!rootSampled) { forward(ev, unsampledTraceparent(), requestId); return; }
      } else if (typeof tp === 'string') {
        const flag = canonicalTraceparentFlag(tp);
        // The caller said "not sampled" in the form we write: forward its header unchanged.
        if (flag === 0 && policy.parentBased) { forward(ev, tp, requestId); return; }
        if (flag === 1) caller = { traceId: tp.slice(3, 35), spanId: tp.slice(36, 52), traceFlags: TraceFlags.SAMPLED, isRemote: true };
      }
    }
    const incoming = caller ? null : extract(h);
    let parent = caller ?? incoming!.parent;
    const b3 = incoming ? incoming.b3 : null;
    const parentSampled = parent ? (parent.traceFlags & 1) === 1 : null;
    const sampled = rootSampled ?? shouldSample(policy, parentSampled);
    let span: SpanRecord | null = null;
    if (sampled && (ev.site !== 'outbound' || !parent)) {
      span = new SpanRecord(sink, SpanKind.SERVER, ev.method, parent ? parent.traceId : randomTraceId(), randomSpanId(), parent, ev.startNs);
      parent = span;
    } else if (!parent) {
      // Carry this hop's "no" on, so the next hop does not start a fragment of its own.
      parent = sampled ? null : contextOf(unsampledTraceparent());
    }
    ev.tracing = { span, parent, sampled, b3, requestId } satisfies RequestState;
    ev.observer = sampled ? recording : forwarding;
  };

  dc.subscribe(CHANNELS.requestStart, onRequestStart);
  return {
    traceIdOf: (ev) => {
      const st = ev.tracing as string | Forwarded | RequestState | null | undefined;
      return typeof st === 'string' ? st.slice(3, 35) : !st ? '' : 'traceparent' in st ? st.traceparent.slice(3, 35) : st.parent?.traceId ?? '';
    },
    stop: () => { dc.unsubscribe(CHANNELS.requestStart, onRequestStart); },
  };
}
