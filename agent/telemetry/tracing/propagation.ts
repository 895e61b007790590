// Trace context in and out of a hop. W3C traceparent/tracestate wins when present; B3 (single
// `b3` header or the `x-b3-*` set) is accepted otherwise, and whichever B3 form arrived is
// written back upstream beside traceparent, so apps that only forward B3 keep working.
import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import type { HeaderValues } from '../events.ts';

export type B3Form = 'single' | 'multi' | null;

const w3c = new W3CTraceContextPropagator();
const b3 = new B3Propagator();
const b3Single = new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
const b3Multi = new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });

export interface Incoming {
  parent: SpanContext | null;
  b3: B3Form;
}

export function b3FormOf(headers: Readonly<HeaderValues>): B3Form {
  return headers.b3 !== undefined ? 'single' : headers['x-b3-traceid'] !== undefined ? 'multi' : null;
}

export function extract(headers: Readonly<HeaderValues>): Incoming {
  const form = b3FormOf(headers);
  // Cheap test first: most unsampled-in-cluster requests still carry a header, but a request
  // with none at all allocates nothing here.
  if (headers.traceparent === undefined && form === null) return { parent: null, b3: null };
  let parent = typeof headers.traceparent === 'string' ? parseTraceparent(headers.traceparent) : null;
  if (parent && typeof headers.tracestate === 'string') {
    parent = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)) ?? parent;
  }
  if (!parent && form) parent = trace.getSpanContext(b3.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)) ?? null;
  return { parent, b3: form };
}

// The common case (a version-00 traceparent, no tracestate) is parsed here without building an
// OTel Context: it is on every request's path, sampled or not.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function parseTraceparent(v: string): SpanContext | null {
  const m = TRACEPARENT.exec(v.trim());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return null;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & 1, isRemote: true };
}

/** Writes `sc` as traceparent (+ tracestate) and, when B3 came in, as B3 in the same form. */
export function inject(headers: Record<string, string | string[]>, sc: SpanContext, form: B3Form): void {
  if (form === null && !sc.traceState) {
    headers.traceparent = `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`;
    return;
  }
  const ctx = trace.setSpanContext(ROOT_CONTEXT, sc);
  w3c.inject(ctx, headers, defaultTextMapSetter);
  if (form === 'single') {
    delete headers['x-b3-traceid']; delete headers['x-b3-spanid']; delete headers['x-b3-sampled']; delete headers['x-b3-parentspanid'];
    b3Single.inject(ctx, headers, defaultTextMapSetter);
  } else if (form === 'multi') {
    delete headers.b3; delete headers['x-b3-parentspanid'];
    b3Multi.inject(ctx, headers, defaultTextMapSetter);
  }
}
