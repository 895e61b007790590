// A span as meshlet records it: one plain object per span, filled from the request's events and
// handed to the export queue when it ends. It is the SDK's `ReadableSpan` (what the processor and the
// OTLP serializers read) without the SDK's `Span` behind it: no span-per-call context objects,
// no per-attribute validation and limits, no clock reads of its own (the events' hrtime stamps
// are the span's times) and no second object for its context (the record is its own
// `SpanContext`). Its attributes are its event's fields: the protobuf queue encodes them from the
// event when the span ends (otlp-protobuf.ts) and drops the record; an attribute object
// (span-attributes.ts) is built only when read (the http/json exporter). ADR 0018.
import { SpanKind, type HrTime, type Link, type SpanContext, type SpanStatus, type TraceState } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { AttemptEvent, RequestEvent } from '../events.ts';
import { lastIdTicket, randomSpanId, randomTraceId } from './ids.ts';
import { clientAttributes, serverAttributes, type Attributes } from './span-attributes.ts';

/** Where ended spans go (the export queue), and what every span of this process shares. */
export interface SpanSink {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  /** Takes an ended span for export; never blocks and never throws (a full queue drops). */
  end: (span: SpanRecord) => void;
}

const NONE: never[] = [];
Object.freeze(NONE);
const NO_ATTRIBUTES: Attributes = Object.freeze({});
/** Status UNSET (code 0), shared by every span that ends without an error. */
const UNSET: SpanStatus = Object.freeze({ code: 0 });

// The events carry process.hrtime.bigint() stamps (monotonic); spans want Unix time. One anchor,
// taken when this module loads, maps the one to the other, as the SDK maps performance.now()
// through performance.timeOrigin.
const NS_PER_S = 1_000_000_000n;
const EPOCH_MINUS_HRTIME_NS = clockAnchor();

/**
 * Unix time minus hrtime, in nanoseconds. The wall-clock read is bracketed by two hrtime reads and
 * the tightest of a few brackets is kept: a thread preempted between two single reads (tens of ms
 * on a loaded node) would otherwise shift every span this process ever exports by that much.
 */
export function clockAnchor(wallMs: () => number = () => performance.timeOrigin + performance.now(), hr: () => bigint = () => process.hrtime.bigint(), tries = 5): bigint {
  let best = 0n;
  let width = -1n;
  for (let i = 0; i < tries; i++) {
    const before = hr();
    const wall = BigInt(Math.round(wallMs() * 1e6));
    const after = hr();
    if (width < 0n || after - before < width) {
      width = after - before;
      best = wall - (before + (after - before) / 2n);
    }
  }
  return best;
}

function hrTime(ns: bigint): HrTime {
  const s = ns / NS_PER_S;
  return [Number(s), Number(ns - s * NS_PER_S)];
}

/** The anchor's two 32-bit halves, for the encoder's sum without BigInt (Writer.fixed64Plus). */
export const EPOCH_MINUS_HRTIME_LO = Number(EPOCH_MINUS_HRTIME_NS & 0xffffffffn);
export const EPOCH_MINUS_HRTIME_HI = Number(EPOCH_MINUS_HRTIME_NS >> 32n);

/** Unix time in nanoseconds of an hrtime stamp. */
export function unixNs(hrtimeNs: bigint): bigint {
  return hrtimeNs + EPOCH_MINUS_HRTIME_NS;
}

/** Unix time of an hrtime stamp, as the SDK's [seconds, nanoseconds]. */
export function unixHrTime(hrtimeNs: bigint): HrTime {
  return hrTime(unixNs(hrtimeNs));
}

export class SpanRecord implements ReadableSpan, SpanContext {
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: TraceState | undefined;
  readonly parentSpanContext: SpanContext | undefined;
  /** The pool tickets of the IDs' bytes when this process drew them (ids.ts), else -1: the encoder copies those bytes instead of decoding the hex. */
  readonly traceIdAt: number;
  readonly spanIdAt: number;
  name: string;
  /**
   * What the span's attributes are read from: the request's event (SERVER) or the attempt's
   * (CLIENT), set when the span ends; null for a record given an attribute object instead.
   */
  source: RequestEvent | AttemptEvent | null = null;
  private attrs: Attributes | null = null;
  status: SpanStatus = UNSET;
  /** process.hrtime.bigint() stamps of the event the span stands for; endNs 0 until it ends. */
  readonly startNs: bigint;
  endNs = 0n;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  // Unix times, worked out when first read (by the exporter, off the request path).
  private start: HrTime | null = null;
  private end: HrTime | null = null;

  /** parent: the caller's context or this hop's SERVER span; null for a root. */
  constructor(sink: SpanSink, kind: SpanKind, name: string, traceId: string, spanId: string, parent: SpanContext | null, startNs: bigint, traceIdAt = -1, spanIdAt = -1) {
    this.kind = kind;
    this.name = name;
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceIdAt = traceIdAt;
    this.spanIdAt = spanIdAt;
    this.startNs = startNs;
    this.parentSpanContext = parent ?? undefined;
    this.traceState = parent?.traceState;
    this.resource = sink.resource;
    this.instrumentationScope = sink.scope;
  }

  // What every span meshlet records has in common is read from the prototype, not stored per span.
  /** Sampled: unsampled requests record nothing. */
  get traceFlags(): number { return 1; }
  /** The record is this process's own span, never a caller's. */
  get isRemote(): boolean { return false; }
  get links(): Link[] { return NONE; }
  get events(): TimedEvent[] { return NONE; }
  get droppedAttributesCount(): number { return 0; }
  get droppedEventsCount(): number { return 0; }
  get droppedLinksCount(): number { return 0; }

  /** The attribute object (built from the source when first read). */
  get attributes(): Attributes {
    if (this.attrs === null) {
      const src = this.source;
      this.attrs = src === null ? NO_ATTRIBUTES : this.kind === SpanKind.SERVER ? serverAttributes(src as RequestEvent) : clientAttributes(src as AttemptEvent);
    }
    return this.attrs;
  }

  set attributes(a: Attributes) {
    this.attrs = a;
  }

  spanContext(): SpanContext {
    return this;
  }

  get ended(): boolean {
    return this.endNs !== 0n;
  }

  get startTime(): HrTime {
    return (this.start ??= unixHrTime(this.startNs));
  }

  get endTime(): HrTime {
    return (this.end ??= unixHrTime(this.endNs));
  }

  get duration(): HrTime {
    return hrTime(this.endNs - this.startNs);
  }
}

/**
 * A span with fresh IDs: its own span ID, and the parent's trace ID or, for a root, a fresh one,
 * each with its pool ticket (a caller's context has none: its IDs came as hex).
 */
export function startSpan(sink: SpanSink, kind: SpanKind, name: string, parent: SpanContext | null, startNs: bigint): SpanRecord {
  let traceId: string;
  let traceIdAt: number;
  if (parent === null) {
    traceId = randomTraceId();
    traceIdAt = lastIdTicket();
  } else {
    traceId = parent.traceId;
    traceIdAt = parent instanceof SpanRecord ? parent.traceIdAt : -1;
  }
  const spanId = randomSpanId();
  return new SpanRecord(sink, kind, name, traceId, spanId, parent, startNs, traceIdAt, lastIdTicket());
}
