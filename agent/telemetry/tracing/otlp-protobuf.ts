// OTLP/protobuf encoding of meshlet's spans, a span at a time: when a span ends it is written
// into its batch's buffer (span-queue.ts), its attributes straight from the request's or the
// attempt's event (no attribute object), its IDs as bytes; the resource and scope framing is
// written once per batch, when the batch is sealed for export. So a queued span is bytes, not
// objects that live through scavenges until their batch is exported (ADR 0018). The bytes are
// the ones the SDK's ProtobufTraceSerializer writes for the same spans, field for field (same
// order, same always-written zero counts and flags): the unit test compares the two byte for
// byte, so the spec's field numbers and value kinds stay the SDK's.
import { SpanKind, type Attributes as OtelAttributes, type SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AttemptEvent, RequestEvent } from '../events.ts';
import { AttrKey, bool, boolAttr, concatAttr, intAttr, key, num, str, strAttr } from './attribute-fields.ts';
import { LEN, tag, Unsupported, varintSize, Writer } from './protobuf-writer.ts';
import { authorityHostEnd, authorityPort, firstHeader, protocolVersion } from './span-attributes.ts';
import { EPOCH_MINUS_HRTIME_HI, EPOCH_MINUS_HRTIME_LO, SpanRecord } from './span-record.ts';

/** KeyValue for each attribute of an attribute object (the resource's, or a record's own), under `field`. */
function writeAttributes(w: Writer, field: number, attrs: OtelAttributes): void {
  for (const k in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
    const v = attrs[k];
    if (typeof v === 'string') str(w, field, k, v);
    else if (typeof v === 'boolean') bool(w, field, k, v);
    else if (typeof v === 'number') num(w, field, k, v);
    // Arrays, byte arrays: none of meshlet's attributes are.
    else if (v != null) throw new Unsupported(`attribute ${k}`);
    // (null and undefined: a KeyValue with an empty AnyValue, as the SDK writes it.)
    else {
      const kv = key(w, field, k);
      w.byte(0);
      w.end(kv, 1);
    }
  }
}

// The attributes of span-attributes.ts's serverAttributes and clientAttributes, written from
// the event in the same order (the unit test holds the two to the same bytes), each by its
// pre-encoded key (attribute-fields.ts).
const A = 9;
const K = {
  method: new AttrKey(A, 'http.request.method'), path: new AttrKey(A, 'url.path'), scheme: new AttrKey(A, 'url.scheme'),
  full: new AttrKey(A, 'url.full'), address: new AttrKey(A, 'server.address'), port: new AttrKey(A, 'server.port'),
  version: new AttrKey(A, 'network.protocol.version'), peer: new AttrKey(A, 'network.peer.address'), client: new AttrKey(A, 'client.address'),
  status: new AttrKey(A, 'http.response.status_code'), ua: new AttrKey(A, 'user_agent.original'), route: new AttrKey(A, 'meshlet.route'),
  backend: new AttrKey(A, 'meshlet.backend'), upstream: new AttrKey(A, 'meshlet.upstream'), identity: new AttrKey(A, 'meshlet.peer.identity'),
  error: new AttrKey(A, 'error.type'), attempt: new AttrKey(A, 'meshlet.retry.attempt'), resend: new AttrKey(A, 'http.request.resend_count'),
  mirror: new AttrKey(A, 'meshlet.mirror'),
};

// A span's attributes other than its path's are usually an earlier span's of its kind (same
// method, route, backend, endpoint, caller, status: the path is what varies, with IDs in it).
// The last BLOCKS such runs are kept per kind, as the bytes before the path's attributes (head)
// and after them (tail), with every value they were written from; a span whose values are all
// the same (===) copies head and tail (two TypedArray copies) and writes only its path's
// attributes (or, when its path is the one the run was written with, copies the whole run), instead of ~13 attributes one by one (~600 instructions each: a key copy and a
// value's bytes, counted). A block is a cache of what the one-by-one writers below produce for
// the same values, so the bytes cannot differ (a test changes each keyed value alone).
const BLOCKS = 4;
const EMPTY = new Uint8Array(0);

/**
 * A cached attribute run, in a buffer of its own, for the values its subclass keeps: head and
 * tail, and the whole run with the path's attributes it was written with (`path`, plus the
 * authority for a CLIENT span's url.full), copied as one when a span repeats that path too.
 */
class Block {
  head: Uint8Array = EMPTY;
  tail: Uint8Array = EMPTY;
  whole: Uint8Array = EMPTY;
  path = '';
  readonly room = new Uint8Array(1024);
}

class ServerBlock extends Block {
  method = ''; scheme = ''; authority = ''; protocol = ''; remote = ''; status = -1;
  ua: string | undefined = undefined; rule: string | null = null; backend: string | null = null;
  upstream: string | null = null; identity: string | null = null; error: string | null = null;
}

class ClientBlock extends Block {
  method = ''; upstream = ''; status = -1; backend = ''; attempt = -1; mirror = false;
  identity: string | null = null; rule: string | null = null; error: string | null = null;
  authority = '';
}

/** The last BLOCKS blocks of one span kind, replaced oldest first. */
class BlockRing<B extends Block> {
  readonly blocks: readonly B[];
  #next = 0;

  constructor(make: () => B) {
    this.blocks = Array.from({ length: BLOCKS }, make);
  }

  /** Keeps the run `w` wrote from h0 to t1 (head to h1, tail from t0) in the oldest block; that block, for its values, or null when it does not fit. */
  keep(w: Writer, h0: number, h1: number, t0: number, t1: number): B | null {
    const n = t1 - h0;
    const b = this.blocks[this.#next]!;
    if (n > b.room.length) return null;
    this.#next = (this.#next + 1) % BLOCKS;
    const src = w.buf;
    b.room.set(new Uint8Array(src.buffer, src.byteOffset + h0, n), 0);
    b.whole = b.room.subarray(0, n);
    b.head = b.room.subarray(0, h1 - h0);
    b.tail = b.room.subarray(t0 - h0, n);
    return b;
  }
}

const serverBlocks = new BlockRing(() => new ServerBlock());
const clientBlocks = new BlockRing(() => new ClientBlock());

function writeServerAttributes(w: Writer, ev: RequestEvent): void {
  const ua = firstHeader(ev.headers['user-agent']);
  for (let i = 0; i < BLOCKS; i++) {
    const b = serverBlocks.blocks[i]!;
    if (b.status === ev.status && b.remote === ev.remoteAddress && b.upstream === ev.upstream && b.method === ev.method
      && b.authority === ev.authority && b.ua === ua && b.rule === ev.rule && b.backend === ev.backend && b.error === ev.error
      && b.identity === ev.peerIdentity && b.scheme === ev.scheme && b.protocol === ev.protocol) {
      if (b.path === ev.path) { w.raw(b.whole); return; }
      w.raw(b.head);
      strAttr(w, K.path, ev.path);
      w.raw(b.tail);
      return;
    }
  }
  const h0 = w.pos;
  strAttr(w, K.method, ev.method);
  const h1 = w.pos;
  strAttr(w, K.path, ev.path);
  const t0 = w.pos;
  serverAttributesAfterPath(w, ev, ua);
  const b = serverBlocks.keep(w, h0, h1, t0, w.pos);
  if (b === null) return;
  b.method = ev.method; b.scheme = ev.scheme; b.authority = ev.authority; b.protocol = ev.protocol;
  b.remote = ev.remoteAddress; b.status = ev.status; b.ua = ua; b.rule = ev.rule; b.backend = ev.backend;
  b.upstream = ev.upstream; b.identity = ev.peerIdentity; b.error = ev.error; b.path = ev.path;
}

function serverAttributesAfterPath(w: Writer, ev: RequestEvent, ua: string | undefined): void {
  strAttr(w, K.scheme, ev.scheme);
  // server.address and server.port from the authority's characters, not a host string and a match.
  const a = ev.authority;
  const end = authorityHostEnd(a);
  strAttr(w, K.address, a, 0, end < 0 ? a.length : end);
  intAttr(w, K.port, authorityPort(a, end, ev.scheme));
  strAttr(w, K.version, protocolVersion(ev.protocol));
  strAttr(w, K.peer, ev.remoteAddress);
  strAttr(w, K.client, ev.remoteAddress);
  intAttr(w, K.status, ev.status);
  if (ua) strAttr(w, K.ua, ua);
  if (ev.rule) strAttr(w, K.route, ev.rule);
  if (ev.backend) strAttr(w, K.backend, ev.backend);
  if (ev.upstream) strAttr(w, K.upstream, ev.upstream);
  if (ev.peerIdentity) strAttr(w, K.identity, ev.peerIdentity);
  if (ev.error) strAttr(w, K.error, ev.error);
}

/** url.full (from its three pieces rather than built as a string) and url.path: what a CLIENT span's path changes. */
function clientPathAttributes(w: Writer, at: AttemptEvent): void {
  const pq = at.pathAndQuery;
  concatAttr(w, K.full, 'http://', at.authority, pq);
  const q = pq.indexOf('?');
  strAttr(w, K.path, pq, 0, q < 0 ? pq.length : q);
}

function writeClientAttributes(w: Writer, at: AttemptEvent): void {
  const rule = at.request !== null ? at.request.rule : null;
  for (let i = 0; i < BLOCKS; i++) {
    const b = clientBlocks.blocks[i]!;
    if (b.status === at.status && b.upstream === at.upstream && b.attempt === at.attempt && b.method === at.method
      && b.backend === at.backend && b.rule === rule && b.error === at.error && b.identity === at.upstreamIdentity && b.mirror === at.mirror) {
      if (b.path === at.pathAndQuery && b.authority === at.authority) { w.raw(b.whole); return; }
      w.raw(b.head);
      clientPathAttributes(w, at);
      w.raw(b.tail);
      return;
    }
  }
  const h0 = w.pos;
  strAttr(w, K.method, at.method);
  const h1 = w.pos;
  clientPathAttributes(w, at);
  const t0 = w.pos;
  clientAttributesAfterPath(w, at, rule);
  const b = clientBlocks.keep(w, h0, h1, t0, w.pos);
  if (b === null) return;
  b.method = at.method; b.upstream = at.upstream; b.status = at.status; b.backend = at.backend; b.attempt = at.attempt;
  b.mirror = at.mirror; b.identity = at.upstreamIdentity; b.rule = rule; b.error = at.error; b.path = at.pathAndQuery; b.authority = at.authority;
}

function clientAttributesAfterPath(w: Writer, at: AttemptEvent, rule: string | null): void {
  const up = at.upstream;
  const colon = up.lastIndexOf(':');
  // (No colon: slice(0, -1) and the whole string's Number, as clientAttributes reads it.)
  strAttr(w, K.address, up, 0, colon < 0 ? Math.max(0, up.length - 1) : colon);
  intAttr(w, K.port, upstreamPort(up, colon));
  intAttr(w, K.status, at.status);
  strAttr(w, K.backend, at.backend);
  strAttr(w, K.upstream, up);
  intAttr(w, K.attempt, at.attempt);
  if (at.attempt > 1) intAttr(w, K.resend, at.attempt - 1);
  if (at.mirror) boolAttr(w, K.mirror, true);
  if (at.upstreamIdentity) strAttr(w, K.identity, at.upstreamIdentity);
  if (rule) strAttr(w, K.route, rule);
  if (at.error) strAttr(w, K.error, at.error);
}

/** Number(upstream.slice(colon + 1)) without the slice when it is 1 to 9 digits. */
function upstreamPort(up: string, colon: number): number {
  const n = up.length - colon - 1;
  if (n < 1 || n > 9) return Number(up.slice(colon + 1));
  let v = 0;
  for (let i = colon + 1; i < up.length; i++) {
    const d = up.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number(up.slice(colon + 1));
    v = v * 10 + d;
  }
  return v;
}

const FLAGS_HAS_IS_REMOTE = 0x100;
const FLAGS_IS_REMOTE = 0x200;

// A span's fixed fields are written by the writer's field methods (one bounds check and call a
// field, not one per tag byte: the writer's `byte` stayed a call in the bench's children, ~60
// instructions a tag, 16 tags a span), and its common ending in one go (writeCommonEnding: inside writeSpan it fell to Maglev).

/** ScopeSpans.spans (field 2): one Span. Throws Unsupported for an ID that is not hex (and not drawn here). */
function writeSpan(w: Writer, s: SpanRecord): void {
  w.ensure(3);
  w.buf[w.pos] = tag(2, LEN);
  const at = w.pos + 1;
  w.pos += 3;
  w.idField(tag(1, LEN), s.traceId, s.traceIdAt, 16);
  w.idField(tag(2, LEN), s.spanId, s.spanIdAt, 8);
  const traceState = s.traceState?.serialize();
  if (traceState) {
    w.byte(tag(3, LEN));
    w.string(traceState);
  }
  const parent = s.parentSpanContext;
  // (this hop's SERVER span's bytes are in the pool; a caller's come as hex)
  if (parent?.spanId) w.idField(tag(4, LEN), parent.spanId, parent instanceof SpanRecord ? parent.spanIdAt : -1, 8);
  w.byte(tag(5, LEN));
  w.string(s.name);
  // SpanKind is offset by one on the wire (0 is "unspecified").
  w.ensure(2);
  w.buf[w.pos] = tag(6, 0);
  w.buf[w.pos + 1] = s.kind + 1;
  w.pos += 2;
  w.fixed64PlusField(tag(7, 1), s.startNs, EPOCH_MINUS_HRTIME_LO, EPOCH_MINUS_HRTIME_HI);
  w.fixed64PlusField(tag(8, 1), s.endNs, EPOCH_MINUS_HRTIME_LO, EPOCH_MINUS_HRTIME_HI);
  const src = s.source;
  if (src === null) writeAttributes(w, A, s.attributes);
  else if (s.kind === SpanKind.SERVER) writeServerAttributes(w, src as RequestEvent);
  else writeClientAttributes(w, src as AttemptEvent);
  writeCommonEnding(w, s, parent);
  w.end(at, 2);
}

/**
 * Dropped counts (always written, as zeros, as the SDK does), the status, the flags. Without a
 * status message (every span that ends without an error) the 16 bytes are written in one go.
 */
function writeCommonEnding(w: Writer, s: SpanRecord, parent: SpanContext | undefined): void {
  const flags = (s.traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (parent?.isRemote ? FLAGS_IS_REMOTE : 0);
  const code: number = s.status.code;
  if (!s.status.message && code >= 0 && code < 128) {
    w.ensure(16);
    const buf = w.buf;
    const p = w.pos;
    buf[p] = tag(10, 0);
    buf[p + 1] = 0;
    buf[p + 2] = tag(12, 0);
    buf[p + 3] = 0;
    buf[p + 4] = tag(14, 0);
    buf[p + 5] = 0;
    buf[p + 6] = tag(15, LEN);
    buf[p + 7] = 2;
    buf[p + 8] = tag(3, 0);
    buf[p + 9] = code;
    // tag(16, 5) = 133: a two-byte varint
    buf[p + 10] = 0x85;
    buf[p + 11] = 0x01;
    buf[p + 12] = flags & 255;
    buf[p + 13] = (flags >>> 8) & 255;
    buf[p + 14] = (flags >>> 16) & 255;
    buf[p + 15] = flags >>> 24;
    w.pos = p + 16;
  } else writeEnding(w, s, flags);
}

/** The ending of a span with a status message (writeCommonEnding writes the usual one in one go). */
function writeEnding(w: Writer, s: SpanRecord, flags: number): void {
  w.byte(tag(10, 0));
  w.byte(0);
  w.byte(tag(12, 0));
  w.byte(0);
  w.byte(tag(14, 0));
  w.byte(0);
  w.byte(tag(15, LEN));
  const status = w.begin(1);
  if (s.status.message) {
    w.byte(tag(2, LEN));
    w.string(s.status.message);
  }
  w.byte(tag(3, 0));
  w.varint(s.status.code);
  w.end(status, 1);
  w.varint(tag(16, 5));
  w.fixed32(flags);
}

/** The bytes around a batch's spans, the same for every batch of a process: written once. */
export interface BatchFraming {
  /** ResourceSpans.resource (field 1), whole. */
  resource: Buffer;
  /** ScopeSpans.scope (field 1), whole. */
  scope: Buffer;
  /** ScopeSpans.schema_url, ResourceSpans.schema_url (field 3 each), or empty. */
  scopeTail: Buffer;
  resourceTail: Buffer;
  /** Bytes kept free before a batch's first span: the framing and its two lengths at most. */
  headroom: number;
}

function bytesOf(size: number, write: (w: Writer) => void): Buffer {
  const w = new Writer(size);
  write(w);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

export function batchFraming(resource: Resource, scope: InstrumentationScope): BatchFraming {
  const res = bytesOf(256, (w) => {
    w.byte(tag(1, LEN));
    const at = w.begin(2);
    writeAttributes(w, 1, resource.attributes);
    w.byte(tag(2, 0));
    w.byte(0);
    w.end(at, 2);
  });
  const sc = bytesOf(64, (w) => {
    w.byte(tag(1, LEN));
    const at = w.begin(1);
    w.byte(tag(1, LEN));
    w.string(scope.name);
    if (scope.version) {
      w.byte(tag(2, LEN));
      w.string(scope.version);
    }
    // (InstrumentationScope's attributes, field 3, are not in the SDK's scope type: none to write.)
    w.end(at, 1);
  });
  const schema = (url: string | undefined): Buffer => bytesOf(16, (w) => { if (url) { w.byte(tag(3, LEN)); w.string(url); } });
  return { resource: res, scope: sc, scopeTail: schema(scope.schemaUrl), resourceTail: schema(resource.schemaUrl), headroom: res.length + sc.length + 2 * (1 + 5) };
}

/** One batch being filled: its spans' bytes follow `framing.headroom` free bytes. */
export class SpanBatch {
  readonly framing: BatchFraming;
  readonly w: Writer;
  count = 0;

  /** `reuse`: the buffer of an earlier batch whose export is over (span-queue.ts), or null. */
  constructor(framing: BatchFraming, size: number, reuse: Buffer | null = null) {
    this.framing = framing;
    this.w = new Writer(framing.headroom + size, reuse);
    this.w.pos = framing.headroom;
  }

  /** Encodes an ended span into the batch; false (and nothing written) when it cannot be encoded. */
  add(span: SpanRecord): boolean {
    const mark = this.w.pos;
    try {
      writeSpan(this.w, span);
    } catch (e) {
      this.w.pos = mark;
      if (e instanceof Unsupported) return false;
      throw e;
    }
    this.count++;
    return true;
  }

  /** ExportTraceServiceRequest: the framing written into the headroom, the tails after the spans. */
  seal(): Uint8Array {
    const f = this.framing;
    const w = this.w;
    const spans = w.pos - f.headroom;
    w.raw(f.scopeTail);
    w.raw(f.resourceTail);
    const ssLen = f.scope.length + spans + f.scopeTail.length;
    const rsLen = f.resource.length + 1 + varintSize(ssLen) + ssLen + f.resourceTail.length;
    const start = f.headroom - (1 + varintSize(rsLen) + f.resource.length + 1 + varintSize(ssLen) + f.scope.length);
    const end = w.pos;
    w.pos = start;
    w.byte(tag(1, LEN));
    w.varint(rsLen);
    w.raw(f.resource);
    w.byte(tag(2, LEN));
    w.varint(ssLen);
    w.raw(f.scope);
    w.pos = end;
    return w.buf.subarray(start, end);
  }
}

/**
 * ExportTraceServiceRequest for `spans` at once (all meshlet's records of one resource and
 * scope), or null when a span is outside what this encoder writes.
 */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array | null {
  const first = spans[0];
  if (!(first instanceof SpanRecord)) return null;
  for (const s of spans) {
    if (!(s instanceof SpanRecord) || s.resource !== first.resource || s.instrumentationScope !== first.instrumentationScope) return null;
  }
  let framing: BatchFraming;
  try {
    framing = batchFraming(first.resource, first.instrumentationScope);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
  const batch = new SpanBatch(framing, spans.length * 512);
  for (const s of spans) if (!batch.add(s as SpanRecord)) return null;
  return batch.seal();
}
