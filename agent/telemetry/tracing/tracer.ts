// Spans from the data plane's events. A hop that receives a request (inbound, gateway) records
// a SERVER span; every attempt it sends (retries and mirrors apart) is a CLIENT span under it.
// The outbound side is the app's own call: its CLIENT spans hang under the context the app
// sent, and only when the app sent none does the sidecar open a SERVER span as the root, so
// retries of one call stay together. Unsampled requests build no span: they only carry the
// trace context on, so the next hop agrees with this one's decision; in the common forms (no
// context, or a W3C one already unsampled) that costs one string or nothing.
import dc from 'node:diagnostics_channel';
import { randomFillSync, randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { CHANNELS, type AttemptEvent, type RequestEvent } from '../events.ts';
import { canonicalTraceparentFlag, DEFAULT_PROPAGATION, type B3Form, type Propagation } from './propagation.ts';
import { shouldSample, type SamplingPolicy } from './sampling.ts';
import { clientAttributes, isClientError, isServerError, serverAttributes, spanName } from './span-attributes.ts';

interface RequestState {
  span: Span | null;
  /** What attempts descend from: the SERVER span, the caller's context, or an unsampled root. */
  parent: SpanContext | null;
  sampled: boolean;
  b3: B3Form;
  requestId: string | null;
}

/** An event seen as a holder of subscribers' per-request state. */
type Slots = Record<symbol, unknown>;

export interface RequestTracer {
  traceIdOf: (ev: RequestEvent) => string;
  stop: () => void;
}

// IDs for unsampled roots come from a pooled random buffer (one getrandom call per 170
// requests) and are written as hex straight into a traceparent template, so an unsampled root
// costs one string: the header value itself, not IDs, a context object and a template literal.
const pool = Buffer.alloc(24 * 170);
let used = pool.length;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const line = Buffer.from(`00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`, 'latin1');

/** A fresh traceparent for a trace this hop starts and does not sample: `00-<trace>-<span>-00`. */
export function unsampledTraceparent(): string {
  for (;;) {
    if (used === pool.length) { randomFillSync(pool); used = 0; }
    let trace = 0;
    let span = 0;
    for (let i = 0; i < 16; i++) {
      const b = pool[used + i]!;
      trace |= b;
      line[3 + 2 * i] = HEX[b >> 4]!;
      line[4 + 2 * i] = HEX[b & 15]!;
    }
    for (let i = 0; i < 8; i++) {
      const b = pool[used + 16 + i]!;
      span |= b;
      line[36 + 2 * i] = HEX[b >> 4]!;
      line[37 + 2 * i] = HEX[b & 15]!;
    }
    used += 24;
    // All-zero IDs are invalid (W3C): draw again (one chance in 2^64).
    if (trace !== 0 && span !== 0) return line.toString('latin1');
  }
}

function contextOf(traceparent: string): SpanContext {
  return { traceId: traceparent.slice(3, 35), spanId: traceparent.slice(36, 52), traceFlags: TraceFlags.NONE, isRemote: false };
}

function hasB3(h: RequestEvent['headers']): boolean {
  return h.b3 !== undefined || h['x-b3-traceid'] !== undefined;
}

export function startRequestTracer(tracer: Tracer, policy: SamplingPolicy, propagation: Propagation = DEFAULT_PROPAGATION): RequestTracer {
  const { extract, inject } = propagation;
  // The unsampled fast path writes W3C traceparent alone, which is what the default propagation
  // writes when no B3 and no tracestate came in; other OTEL_PROPAGATORS take the general path.
  const fast = propagation === DEFAULT_PROPAGATION;
  // Per-request state lives on the event (ev.tracing), not in a WeakMap: a WeakMap entry per
  // request and attempt made the GC trace ephemerons in every scavenge, which was most of what
  // tracing cost an unsampled request (bench/telemetry-subscribers.ts). An unsampled request's
  // state is the traceparent string it forwards (no object); a sampled one's a RequestState.
  // An attempt's span sits under this tracer's own symbol (sampled attempts only).
  const SPAN = Symbol('meshlet.tracer.attempt');
  const requests = {
    get: (ev: RequestEvent): RequestState | string | undefined => (ev.tracing ?? undefined) as RequestState | string | undefined,
    set: (ev: RequestEvent, st: RequestState | string): void => { ev.tracing = st; },
  };
  const attempts = {
    get: (at: AttemptEvent): Span | undefined => (at as unknown as Slots)[SPAN] as Span | undefined,
    set: (at: AttemptEvent, span: Span): void => { (at as unknown as Slots)[SPAN] = span; },
  };

  const onRequestStart = (m: unknown): void => {
    const ev = m as RequestEvent;
    const h = ev.headers;
    const needsRequestId = ev.site === 'gateway' && h['x-request-id'] === undefined;
    // A root's decision, when the fast path already drew it (drawn once: a second draw would
    // sample at ratio²).
    let rootSampled: boolean | null = null;
    if (fast && !needsRequestId && h.tracestate === undefined && !hasB3(h)) {
      const tp = h.traceparent;
      if (tp === undefined) {
        // No context came in: this hop is the root. Unsampled, it only writes a fresh traceparent.
        rootSampled = shouldSample(policy, null);
        if (!rootSampled) { requests.set(ev, unsampledTraceparent()); return; }
      } else if (typeof tp === 'string' && policy.parentBased && canonicalTraceparentFlag(tp) === 0) {
        // The caller said "not sampled" in the form we write: forward its header unchanged.
        requests.set(ev, tp);
        return;
      }
    }
    const incoming = extract(h);
    const parentSampled = incoming.parent ? (incoming.parent.traceFlags & 1) === 1 : null;
    const sampled = rootSampled ?? shouldSample(policy, parentSampled);
    const requestId = needsRequestId ? randomUUID() : null;
    let span: Span | null = null;
    let parent = incoming.parent;
    if (sampled && (ev.site !== 'outbound' || !parent)) {
      const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
      span = tracer.startSpan(ev.method, { kind: SpanKind.SERVER, root: !parent }, ctx);
      parent = span.spanContext();
    } else if (!parent) {
      // Carry this hop's "no" on, so the next hop does not start a fragment of its own.
      parent = sampled ? null : contextOf(unsampledTraceparent());
    }
    requests.set(ev, { span, parent, sampled, b3: incoming.b3, requestId });
  };

  const onRequestEnd = (m: unknown): void => {
    const ev = m as RequestEvent;
    const st = requests.get(ev);
    if (typeof st !== 'object' || !st.span) return;
    st.span.updateName(spanName(ev.method, ev.routePath));
    st.span.setAttributes(serverAttributes(ev));
    if (isServerError(ev.status, ev.error)) st.span.setStatus({ code: SpanStatusCode.ERROR, message: ev.error ?? undefined });
    st.span.end();
  };

  const onAttemptStart = (m: unknown): void => {
    const at = m as AttemptEvent;
    const st = at.request ? requests.get(at.request) : undefined;
    if (st === undefined) return;
    if (typeof st === 'string') {
      if (at.headers.traceparent !== st) at.headers.traceparent = st;
      return;
    }
    if (st.requestId) at.headers['x-request-id'] = st.requestId;
    if (!st.sampled) {
      if (st.parent) inject(at.headers, st.parent, st.b3);
      return;
    }
    const ctx = st.parent ? trace.setSpanContext(ROOT_CONTEXT, st.parent) : ROOT_CONTEXT;
    const span = tracer.startSpan(spanName(at.method, at.request?.routePath ?? null), { kind: SpanKind.CLIENT }, ctx);
    attempts.set(at, span);
    inject(at.headers, span.spanContext(), st.b3);
  };

  const onAttemptEnd = (m: unknown): void => {
    const at = m as AttemptEvent;
    const span = attempts.get(at);
    if (!span) return;
    span.setAttributes(clientAttributes(at));
    if (isClientError(at.status)) span.setStatus({ code: SpanStatusCode.ERROR, message: at.error ?? undefined });
    span.end();
  };

  const subs: [string, (m: unknown) => void][] = [
    [CHANNELS.requestStart, onRequestStart], [CHANNELS.requestEnd, onRequestEnd],
    [CHANNELS.attemptStart, onAttemptStart], [CHANNELS.attemptEnd, onAttemptEnd],
  ];
  for (const [name, fn] of subs) dc.subscribe(name, fn);
  return {
    traceIdOf: (ev) => {
      const st = requests.get(ev);
      return typeof st === 'string' ? st.slice(3, 35) : st?.parent?.traceId ?? '';
    },
    stop: () => { for (const [name, fn] of subs) dc.unsubscribe(name, fn); },
  };
}
