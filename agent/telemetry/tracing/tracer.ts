// Spans from the data plane's events. A hop that receives a request (inbound, gateway) records
// a SERVER span; every attempt it sends (retries and mirrors apart) is a CLIENT span under it.
// The outbound side is the app's own call: its CLIENT spans hang under the context the app
// sent, and only when the app sent none does the sidecar open a SERVER span as the root, so
// retries of one call stay together. Unsampled requests build no span: they only carry the
// trace context on, so the next hop agrees with this one's decision.
import dc from 'node:diagnostics_channel';
import { randomFillSync, randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { CHANNELS, type AttemptEvent, type RequestEvent } from '../events.ts';
import { DEFAULT_PROPAGATION, type B3Form, type Propagation } from './propagation.ts';
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

// IDs for unsampled roots come from a pooled random buffer: one getrandom call per 170 requests
// instead of two per request.
const pool = Buffer.alloc(24 * 170);
let used = pool.length;

function unsampledRoot(): SpanContext {
  if (used === pool.length) { randomFillSync(pool); used = 0; }
  const hex = pool.toString('hex', used, used + 24);
  used += 24;
  return { traceId: hex.slice(0, 32), spanId: hex.slice(32), traceFlags: TraceFlags.NONE, isRemote: false };
}

export function startRequestTracer(tracer: Tracer, policy: SamplingPolicy, propagation: Propagation = DEFAULT_PROPAGATION): RequestTracer {
  const { extract, inject } = propagation;
  // Per-request state lives on the event itself, under this tracer's own symbol, not in a
  // WeakMap: a WeakMap entry per request and attempt made the GC trace ephemerons in every
  // scavenge, which was most of what tracing cost an unsampled request (3-4 µs per hop, against
  // under 1 µs this way; bench/telemetry-subscribers.ts). The symbol keeps two tracers apart.
  const STATE = Symbol('meshlet.tracer.request');
  const SPAN = Symbol('meshlet.tracer.attempt');
  const requests = {
    get: (ev: RequestEvent): RequestState | undefined => (ev as unknown as Slots)[STATE] as RequestState | undefined,
    set: (ev: RequestEvent, st: RequestState): void => { (ev as unknown as Slots)[STATE] = st; },
  };
  const attempts = {
    get: (at: AttemptEvent): Span | undefined => (at as unknown as Slots)[SPAN] as Span | undefined,
    set: (at: AttemptEvent, span: Span): void => { (at as unknown as Slots)[SPAN] = span; },
  };

  const onRequestStart = (m: unknown): void => {
    const ev = m as RequestEvent;
    const incoming = extract(ev.headers);
    const parentSampled = incoming.parent ? (incoming.parent.traceFlags & 1) === 1 : null;
    const sampled = shouldSample(policy, parentSampled);
    const requestId = ev.site === 'gateway' && ev.headers['x-request-id'] === undefined ? randomUUID() : null;
    let span: Span | null = null;
    let parent = incoming.parent;
    if (sampled && (ev.site !== 'outbound' || !parent)) {
      const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
      span = tracer.startSpan(ev.method, { kind: SpanKind.SERVER, root: !parent }, ctx);
      parent = span.spanContext();
    } else if (!parent) {
      // Carry this hop's "no" on, so the next hop does not start a fragment of its own.
      parent = sampled ? null : unsampledRoot();
    }
    requests.set(ev, { span, parent, sampled, b3: incoming.b3, requestId });
  };

  const onRequestEnd = (m: unknown): void => {
    const ev = m as RequestEvent;
    const st = requests.get(ev);
    if (!st?.span) return;
    st.span.updateName(spanName(ev.method, ev.routePath));
    st.span.setAttributes(serverAttributes(ev));
    if (isServerError(ev.status, ev.error)) st.span.setStatus({ code: SpanStatusCode.ERROR, message: ev.error ?? undefined });
    st.span.end();
  };

  const onAttemptStart = (m: unknown): void => {
    const at = m as AttemptEvent;
    const st = at.request ? requests.get(at.request) : undefined;
    if (!st) return;
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
    traceIdOf: (ev) => requests.get(ev)?.parent?.traceId ?? '',
    stop: () => { for (const [name, fn] of subs) dc.unsubscribe(name, fn); },
  };
}
