// OTLP/protobuf encoding of meshlet's spans, a span at a time: when a span ends it is written
// into its batch's buffer (span-queue.ts), its attributes straight from the request's or the
// attempt's event (no attribute object), its IDs as bytes; the resource and scope framing is
// written once per batch, when the batch is sealed for export. So a queued span is bytes, not
// objects that live through scavenges until their batch is exported (ADR 0018). The bytes are
// the ones the SDK's ProtobufTraceSerializer writes for the same spans, field for field (same
// order, same always-written zero counts and flags): the unit test compares the two byte for
// byte, so the spec's field numbers and value kinds stay the SDK's.
import { SpanKind, type Attributes as OtelAttributes } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AttemptEvent, RequestEvent } from '../events.ts';
import { keyField, LEN, Slot, tag, Unsupported, varintSize, Writer } from './protobuf-writer.ts';
import { firstHeader, hostPort, protocolVersion } from './span-attributes.ts';
import { EPOCH_MINUS_HRTIME_HI, EPOCH_MINUS_HRTIME_LO, SpanRecord } from './span-record.ts';

function key(w: Writer, field: number, k: string): number {
  w.varint(tag(field, LEN));
  const kv = w.begin(1);
  const kf = keyField(k);
  if (kf) w.raw(kf);
  else {
    w.byte(tag(1, LEN));
    w.string(k);
  }
  w.byte(tag(2, LEN));
  return kv;
}

/** A string attribute: KeyValue { key, AnyValue { string_value } } under `field`; a repeat of the slot's last value is copied. */
function str(w: Writer, field: number, k: string, v: string, slot?: Slot): void {
  if (slot !== undefined && slot.value === v) { w.raw(slot.bytes); return; }
  const start = w.pos;
  const kv = key(w, field, k);
  const any = w.begin(1);
  w.byte(tag(1, LEN));
  w.string(v);
  w.end(any, 1);
  w.end(kv, 1);
  if (slot !== undefined) w.keep(slot, v, start);
}

function bool(w: Writer, field: number, k: string, v: boolean): void {
  const kv = key(w, field, k);
  w.byte(2);
  w.byte(tag(2, 0));
  w.byte(v ? 1 : 0);
  w.end(kv, 1);
}

const INT64_RANGE = 2 ** 63;

/** A number attribute: int_value when an integer in int64's range (as the SDK decides), else double_value; a repeat of the slot's last value is copied. */
function num(w: Writer, field: number, k: string, v: number, slot?: Slot): void {
  if (slot !== undefined && slot.value === v) { w.raw(slot.bytes); return; }
  const start = w.pos;
  const kv = key(w, field, k);
  const any = w.begin(1);
  if (Number.isInteger(v) && v >= -INT64_RANGE && v < INT64_RANGE) {
    w.byte(tag(3, 0));
    w.int64(v);
  } else {
    w.byte(tag(4, 1));
    w.double(v);
  }
  w.end(any, 1);
  w.end(kv, 1);
  if (slot !== undefined) w.keep(slot, v, start);
}

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
// the event in the same order (the unit test holds the two to the same bytes).
const A = 9;

// One slot per attribute that usually repeats (not url.full; url.path costs a copy when it varies).
const S = {
  path: new Slot(), port: new Slot(), status: new Slot(), cPath: new Slot(), cPort: new Slot(), cStatus: new Slot(), attempt: new Slot(),
  method: new Slot(), scheme: new Slot(), host: new Slot(), version: new Slot(), peer: new Slot(), client: new Slot(), ua: new Slot(),
  route: new Slot(), backend: new Slot(), upstream: new Slot(), identity: new Slot(), error: new Slot(),
  cMethod: new Slot(), cHost: new Slot(), cBackend: new Slot(), cUpstream: new Slot(), cIdentity: new Slot(), cRoute: new Slot(), cError: new Slot(),
};

// A span's whole attribute block is usually the one an earlier span of the same request shape
// wrote (same route, backend, endpoint, caller, status; only the path may differ): the last few
// blocks are kept with every value they were written from, and a span whose values are all the
// same (===) copies its block whole instead of writing ~15 attributes one by one (a slot compare,
// a key copy and a bounds check each, a regex for server.address). A block is a cache of what
// the per-attribute writers below produce for the same values, so the bytes cannot differ.
const BLOCKS = 4;

/** A cached attribute block: the bytes, in a buffer of its own, of the values its subclass keeps. */
class Block {
  bytes: Uint8Array = new Uint8Array(0);
  readonly room = Buffer.alloc(1024);
}

class ServerBlock extends Block {
  method = ''; path = ''; scheme = ''; authority = ''; protocol = ''; remote = ''; status = -1;
  ua: string | undefined = undefined; rule: string | null = null; backend: string | null = null;
  upstream: string | null = null; identity: string | null = null; error: string | null = null;
}

class ClientBlock extends Block {
  method = ''; authority = ''; pathAndQuery = ''; upstream = ''; status = -1; backend = ''; attempt = -1; mirror = false;
  identity: string | null = null; rule: string | null = null; error: string | null = null;
}

/** The last BLOCKS blocks of one span kind, replaced oldest first. */
class BlockRing<B extends Block> {
  readonly blocks: readonly B[];
  #next = 0;

  constructor(make: () => B) {
    this.blocks = Array.from({ length: BLOCKS }, make);
  }

  /** Keeps what was written since `start` in the oldest block; that block, for its values, or null when it does not fit. */
  keep(w: Writer, start: number): B | null {
    const n = w.pos - start;
    const b = this.blocks[this.#next]!;
    if (n > b.room.length) return null;
    this.#next = (this.#next + 1) % BLOCKS;
    w.buf.copy(b.room, 0, start, w.pos);
    b.bytes = b.room.subarray(0, n);
    return b;
  }
}

const serverBlocks = new BlockRing(() => new ServerBlock());
const clientBlocks = new BlockRing(() => new ClientBlock());

function writeServerAttributes(w: Writer, ev: RequestEvent): void {
  const ua = firstHeader(ev.headers['user-agent']);
  for (let i = 0; i < BLOCKS; i++) {
    const b = serverBlocks.blocks[i]!;
    if (b.status === ev.status && b.path === ev.path && b.remote === ev.remoteAddress && b.upstream === ev.upstream && b.method === ev.method
      && b.authority === ev.authority && b.ua === ua && b.rule === ev.rule && b.backend === ev.backend && b.error === ev.error
      && b.identity === ev.peerIdentity && b.scheme === ev.scheme && b.protocol === ev.protocol) {
      w.raw(b.bytes);
      return;
    }
  }
  const start = w.pos;
  serverAttributesOneByOne(w, ev, ua);
  const b = serverBlocks.keep(w, start);
  if (b === null) return;
  b.method = ev.method; b.path = ev.path; b.scheme = ev.scheme; b.authority = ev.authority; b.protocol = ev.protocol;
  b.remote = ev.remoteAddress; b.status = ev.status; b.ua = ua; b.rule = ev.rule; b.backend = ev.backend;
  b.upstream = ev.upstream; b.identity = ev.peerIdentity; b.error = ev.error;
}

function serverAttributesOneByOne(w: Writer, ev: RequestEvent, ua: string | undefined): void {
  str(w, A, 'http.request.method', ev.method, S.method);
  str(w, A, 'url.path', ev.path, S.path);
  str(w, A, 'url.scheme', ev.scheme, S.scheme);
  const host = hostPort(ev.authority, ev.scheme);
  str(w, A, 'server.address', host.host, S.host);
  num(w, A, 'server.port', host.port, S.port);
  str(w, A, 'network.protocol.version', protocolVersion(ev.protocol), S.version);
  str(w, A, 'network.peer.address', ev.remoteAddress, S.peer);
  str(w, A, 'client.address', ev.remoteAddress, S.client);
  num(w, A, 'http.response.status_code', ev.status, S.status);
  if (ua) str(w, A, 'user_agent.original', ua, S.ua);
  if (ev.rule) str(w, A, 'meshlet.route', ev.rule, S.route);
  if (ev.backend) str(w, A, 'meshlet.backend', ev.backend, S.backend);
  if (ev.upstream) str(w, A, 'meshlet.upstream', ev.upstream, S.upstream);
  if (ev.peerIdentity) str(w, A, 'meshlet.peer.identity', ev.peerIdentity, S.identity);
  if (ev.error) str(w, A, 'error.type', ev.error, S.error);
}

function writeClientAttributes(w: Writer, at: AttemptEvent): void {
  const rule = at.request !== null ? at.request.rule : null;
  for (let i = 0; i < BLOCKS; i++) {
    const b = clientBlocks.blocks[i]!;
    if (b.status === at.status && b.pathAndQuery === at.pathAndQuery && b.upstream === at.upstream && b.attempt === at.attempt && b.method === at.method
      && b.authority === at.authority && b.backend === at.backend && b.rule === rule && b.error === at.error
      && b.identity === at.upstreamIdentity && b.mirror === at.mirror) {
      w.raw(b.bytes);
      return;
    }
  }
  const start = w.pos;
  clientAttributesOneByOne(w, at, rule);
  const b = clientBlocks.keep(w, start);
  if (b === null) return;
  b.method = at.method; b.authority = at.authority; b.pathAndQuery = at.pathAndQuery; b.upstream = at.upstream; b.status = at.status;
  b.backend = at.backend; b.attempt = at.attempt; b.mirror = at.mirror; b.identity = at.upstreamIdentity; b.rule = rule; b.error = at.error;
}

function clientAttributesOneByOne(w: Writer, at: AttemptEvent, rule: string | null): void {
  str(w, A, 'http.request.method', at.method, S.cMethod);
  // url.full, written in its three pieces rather than built as a string.
  const kv = key(w, A, 'url.full');
  const any = w.begin(1);
  w.byte(tag(1, LEN));
  const s = w.begin(1);
  w.text('http://');
  w.text(at.authority);
  w.text(at.pathAndQuery);
  w.end(s, 1);
  w.end(any, 1);
  w.end(kv, 1);
  const q = at.pathAndQuery.indexOf('?');
  str(w, A, 'url.path', q < 0 ? at.pathAndQuery : at.pathAndQuery.slice(0, q), S.cPath);
  const colon = at.upstream.lastIndexOf(':');
  str(w, A, 'server.address', at.upstream.slice(0, colon), S.cHost);
  num(w, A, 'server.port', Number(at.upstream.slice(colon + 1)), S.cPort);
  num(w, A, 'http.response.status_code', at.status, S.cStatus);
  str(w, A, 'meshlet.backend', at.backend, S.cBackend);
  str(w, A, 'meshlet.upstream', at.upstream, S.cUpstream);
  num(w, A, 'meshlet.retry.attempt', at.attempt, S.attempt);
  if (at.attempt > 1) num(w, A, 'http.request.resend_count', at.attempt - 1);
  if (at.mirror) bool(w, A, 'meshlet.mirror', true);
  if (at.upstreamIdentity) str(w, A, 'meshlet.peer.identity', at.upstreamIdentity, S.cIdentity);
  if (rule) str(w, A, 'meshlet.route', rule, S.cRoute);
  if (at.error) str(w, A, 'error.type', at.error, S.cError);
}

const FLAGS_HAS_IS_REMOTE = 0x100;
const FLAGS_IS_REMOTE = 0x200;

/** ScopeSpans.spans (field 2): one Span. Throws Unsupported for an ID that is not hex. */
function writeSpan(w: Writer, s: SpanRecord): void {
  w.byte(tag(2, LEN));
  const at = w.begin(2);
  w.byte(tag(1, LEN));
  w.hexId(s.traceId, 16);
  w.byte(tag(2, LEN));
  w.hexId(s.spanId, 8);
  const traceState = s.traceState?.serialize();
  if (traceState) {
    w.byte(tag(3, LEN));
    w.string(traceState);
  }
  const parent = s.parentSpanContext;
  if (parent?.spanId) {
    w.byte(tag(4, LEN));
    w.hexId(parent.spanId, 8);
  }
  w.byte(tag(5, LEN));
  w.string(s.name);
  // SpanKind is offset by one on the wire (0 is "unspecified").
  w.byte(tag(6, 0));
  w.varint(s.kind + 1);
  w.byte(tag(7, 1));
  w.fixed64Plus(s.startNs, EPOCH_MINUS_HRTIME_LO, EPOCH_MINUS_HRTIME_HI);
  w.byte(tag(8, 1));
  w.fixed64Plus(s.endNs, EPOCH_MINUS_HRTIME_LO, EPOCH_MINUS_HRTIME_HI);
  const src = s.source;
  if (src === null) writeAttributes(w, A, s.attributes);
  else if (s.kind === SpanKind.SERVER) writeServerAttributes(w, src as RequestEvent);
  else writeClientAttributes(w, src as AttemptEvent);
  // Dropped attributes, events and links: always written, as zeros, as the SDK does.
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
  w.fixed32((s.traceFlags & 0xff) | FLAGS_HAS_IS_REMOTE | (parent?.isRemote ? FLAGS_IS_REMOTE : 0));
  w.end(at, 2);
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
