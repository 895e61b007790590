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
import { CHANNELS, type AttemptEvent, type RequestEvent } from '../events.ts';
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

/** An event seen as a holder of subscribers' per-request state. */
type Slots = Record<symbol, unknown>;

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
  // state is the traceparent string it forwards (no object); a sampled one's a RequestState.
  // An attempt's span sits under this tracer's own symbol (sampled attempts only).
  const SPAN = Symbol('meshlet.tracer.attempt');
  const requests = {
    get: (ev: RequestEvent): RequestState | string | undefined => (ev.tracing ?? undefined) as RequestState | string | undefined,
    set: (ev: RequestEvent, st: RequestState | string): void => { ev.tracing = st; },
  };
  const attempts = {
    get: (at: AttemptEvent): SpanRecord | undefined => (at as unknown as Slots)[SPAN] as SpanRecord | undefined,
    set: (at: AttemptEvent, span: SpanRecord): void => { (at as unknown as Slots)[SPAN] = span; },
  };

  const onRequestStart = (m: unknown): void => {
    const ev = m as RequestEvent;
    const h = ev.headers;
    const needsRequestId = ev.site === 'gateway' && h['x-request-id'] === undefined;
    // A root's decision, when the fast path already drew it (drawn once: a second draw would
    // sample at ratio²).
    let rootSampled: boolean | null = null;
    // A caller's context in the canonical sampled form, read without the general parser.
    let caller: SpanContext | null = null;
    if (fast && !needsRequestId && h.tracestate === undefined && !hasB3(h)) {
      const tp = h.traceparent;
      if (tp === undefined) {
        // No context came in: this hop is the root. Unsampled, it only writes a fresh traceparent.
        rootSampled = shouldSample(policy, null);
        if (!rootSampled) { requests.set(ev, unsampledTraceparent()); return; }
      } else if (typeof tp === 'string') {
        const flag = canonicalTraceparentFlag(tp);
        // The caller said "not sampled" in the form we write: forward its header unchanged.
        if (flag === 0 && policy.parentBased) { requests.set(ev, tp); return; }
        if (flag === 1) caller = { traceId: tp.slice(3, 35), spanId: tp.slice(36, 52), traceFlags: TraceFlags.SAMPLED, isRemote: true };
      }
    }
    const incoming = caller ? null : extract(h);
    let parent = caller ?? incoming!.parent;
    const b3 = incoming ? incoming.b3 : null;
    const parentSampled = parent ? (parent.traceFlags & 1) === 1 : null;
    const sampled = rootSampled ?? shouldSample(policy, parentSampled);
    const requestId = needsRequestId ? randomUUID() : null;
    let span: SpanRecord | null = null;
    if (sampled && (ev.site !== 'outbound' || !parent)) {
      span = new SpanRecord(sink, SpanKind.SERVER, ev.method, parent ? parent.traceId : randomTraceId(), randomSpanId(), parent, ev.startNs);
      parent = span;
    } else if (!parent) {
      // Carry this hop's "no" on, so the next hop does not start a fragment of its own.
      parent = sampled ? null : contextOf(unsampledTraceparent());
    }
    requests.set(ev, { span, parent, sampled, b3, requestId });
  };

  const onRequestEnd = (m: unknown): void => {
    const ev = m as RequestEvent;
    const st = requests.get(ev);
    const span = typeof st === 'object' ? st.span : null;
    if (!span || span.endNs !== 0n) return;
    span.name = spanName(ev.method, ev.routePath);
    span.source = ev;
    if (isServerError(ev.status, ev.error)) span.status = { code: SpanStatusCode.ERROR, message: ev.error ?? undefined };
    span.endNs = ev.endNs || process.hrtime.bigint();
    sink.end(span);
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
    const parent = st.parent;
    const span = new SpanRecord(sink, SpanKind.CLIENT, spanName(at.method, at.request?.routePath ?? null),
      parent ? parent.traceId : randomTraceId(), randomSpanId(), parent, at.startNs);
    attempts.set(at, span);
    inject(at.headers, span, st.b3);
  };

  const onAttemptEnd = (m: unknown): void => {
    const at = m as AttemptEvent;
    const span = attempts.get(at);
    if (!span || span.endNs !== 0n) return;
    span.source = at;
    if (isClientError(at.status)) span.status = { code: SpanStatusCode.ERROR, message: at.error ?? undefined };
    span.endNs = at.endNs || process.hrtime.bigint();
    sink.end(span);
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
