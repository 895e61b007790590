// Trace context in and out of a hop. W3C traceparent/tracestate wins when present; B3 (single
// `b3` header or the `x-b3-*` set) is accepted otherwise, and whichever B3 form arrived is
// written back upstream beside traceparent, so apps that only forward B3 keep working.
import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import type { HeaderValues } from '../events.ts';
import { propagatorNames, TracePropagatorUnsupportedError } from './propagator-names.ts';

export { TracePropagatorUnsupportedError };

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

const NOTHING: Incoming = Object.freeze({ parent: null, b3: null });

export function extract(headers: Readonly<HeaderValues>): Incoming {
  const form = b3FormOf(headers);
  // Cheap test first: most unsampled-in-cluster requests still carry a header, but a request
  // with none at all allocates nothing here.
  if (headers.traceparent === undefined && form === null) return NOTHING;
  let parent = typeof headers.traceparent === 'string' ? parseTraceparent(headers.traceparent) : null;
  if (parent && typeof headers.tracestate === 'string') {
    parent = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)) ?? parent;
  }
  if (!parent && form) parent = trace.getSpanContext(b3.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)) ?? null;
  return { parent, b3: form };
}

// The common case (a traceparent without tracestate) is parsed here without building an OTel
// Context. W3C Trace Context: lowercase hex only, version ff invalid, all-zero IDs invalid;
// version 00 is exactly 55 characters, a later version may add fields after a dash (read as
// version 00's four, and written on as version 00).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** A lowercase hex digit's code: two unsigned range checks (counted: cheaper than a table lookup per character). */
const isHex = (c: number): boolean => (c - 48) >>> 0 < 10 || (c - 97) >>> 0 < 6;

/** Where the fast check copies a traceparent's 55 characters as UTF-8. */
const tpBytes = Buffer.alloc(55);
const utf8Write = (d: Buffer, v: string): number => (d as unknown as { utf8Write(s: string, offset: number, length: number): number }).utf8Write(v, 0, 55);

/**
 * The sampled flag of a traceparent already in the exact form this hop writes (version 00,
 * lowercase hex, non-zero IDs, flags 00 or 01, no spaces): 0 or 1; -1 for anything else, which
 * goes through the full parser. The unsampled request that forwards the caller's context
 * unchanged allocates nothing here. The characters are copied into a buffer once (one call into
 * Buffer's C++) and read as bytes: callgrind, per call on a fresh 55-byte header (a latin1 slice
 * of a request head, as the engine makes it), ~1.1 k instructions against ~1.7 k with a
 * charCodeAt per character (each one dispatches on the string's representation) and ~2.2 k as
 * one regular expression. Written as UTF-8, a character outside ASCII becomes bytes of 0x80 and
 * up, which no position accepts, or (cut at 55 bytes) leaves fewer than 55 written: either way -1.
 */
export function canonicalTraceparentFlag(v: string): number {
  if (v.length !== 55 || utf8Write(tpBytes, v) !== 55) return -1;
  const b = tpBytes;
  if (b[0] !== 48 || b[1] !== 48 || b[2] !== 45 || b[35] !== 45 || b[52] !== 45 || b[53] !== 48) return -1;
  // non-zero IDs: some character is not '0' (48)
  let trace = 0;
  let span = 0;
  for (let i = 3; i < 35; i++) {
    const c = b[i]!;
    if (!isHex(c)) return -1;
    trace |= c ^ 48;
  }
  for (let i = 36; i < 52; i++) {
    const c = b[i]!;
    if (!isHex(c)) return -1;
    span |= c ^ 48;
  }
  const f = b[54]!;
  if (trace === 0 || span === 0 || (f !== 48 && f !== 49)) return -1;
  return f - 48;
}

/** A traceparent's context per W3C Trace Context (see TRACEPARENT), or null when it is not valid. */
export function parseTraceparent(v: string): SpanContext | null {
  const m = TRACEPARENT.exec(v.trim());
  if (!m || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined) || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return null;
  return { traceId: m[2]!, spanId: m[3]!, traceFlags: parseInt(m[4]!, 16) & 1, isRemote: true };
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

/** How a hop reads and writes trace context: the default (W3C, B3 echoed) or OTEL_PROPAGATORS. */
export interface Propagation {
  extract: (headers: Readonly<HeaderValues>) => Incoming;
  inject: (headers: Record<string, string | string[]>, sc: SpanContext, form: B3Form) => void;
}

export const DEFAULT_PROPAGATION: Propagation = { extract, inject };

/**
 * OTEL_PROPAGATORS, per the spec: a comma-separated list, extracted in order, all injected.
 * Unset keeps the default (W3C first, B3 accepted and echoed in the form received). `baggage`
 * is accepted and needs nothing: the proxy forwards the baggage header untouched. `none`
 * neither reads nor writes context, so every hop starts its own trace.
 */
export function propagationFromEnv(env: Record<string, string | undefined>): Propagation {
  const names = propagatorNames(env);
  if (!names) return DEFAULT_PROPAGATION;
  const w = names.includes('tracecontext');
  const single = names.includes('b3');
  const multi = names.includes('b3multi');
  const readers = names.filter((n) => n === 'tracecontext' || n === 'b3' || n === 'b3multi');
  return {
    extract: (headers) => {
      const form = b3FormOf(headers);
      for (const n of readers) {
        if (n === 'tracecontext' && typeof headers.traceparent === 'string') {
          const sc = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
          if (sc) return { parent: sc, b3: form };
        } else if (n !== 'tracecontext' && form !== null) {
          const sc = trace.getSpanContext(b3.extract(ROOT_CONTEXT, headers, defaultTextMapGetter));
          if (sc) return { parent: sc, b3: form };
        }
      }
      return { parent: null, b3: form };
    },
    inject: (headers, sc) => {
      if (readers.length === 0) return; // none (or baggage alone): leave the app's headers as they are
      const ctx = trace.setSpanContext(ROOT_CONTEXT, sc);
      // Whatever the caller sent in a format we do not write is stale once we add a hop.
      if (!w) { delete headers.traceparent; delete headers.tracestate; }
      if (!single) delete headers.b3;
      if (!multi) { delete headers['x-b3-traceid']; delete headers['x-b3-spanid']; delete headers['x-b3-sampled']; delete headers['x-b3-parentspanid']; delete headers['x-b3-flags']; }
      if (w) w3c.inject(ctx, headers, defaultTextMapSetter);
      if (single) b3Single.inject(ctx, headers, defaultTextMapSetter);
      if (multi) { delete headers['x-b3-parentspanid']; b3Multi.inject(ctx, headers, defaultTextMapSetter); }
    },
  };
}
