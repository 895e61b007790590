// OTLP/protobuf encoding of a batch of meshlet's span records (span-record.ts), in one pass over
// one buffer: what the SDK's serializer does in two (a size pass, then a write pass), without
// its per-ID byte arrays and HrTime arithmetic. The bytes are the ones the SDK's
// ProtobufTraceSerializer writes for the same spans, field for field (same order, same
// always-written zero counts and flags): the unit test compares the two byte for byte, so the
// spec's field numbers and value kinds stay the SDK's. Anything this encoder does not know
// (a span that is not a record, events or links, an attribute value that is not a string,
// number or boolean, spans from two resources) is handed to the SDK's serializer whole.
import type { Attributes as OtelAttributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanRecord, unixNs } from './span-record.ts';

/** A span value this encoder does not write: the batch goes to the SDK's serializer. */
class Unsupported extends Error {}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) { v = Math.floor(v / 128); n++; }
  return n;
}

/** A growable protobuf writer. Length-delimited fields reserve their length's bytes and move the body if the guess was wrong. */
class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A small constant (a tag, a bool): one byte, < 128. */
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer up to 2^53. */
  varint(v: number): void {
    this.ensure(10);
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** Starts a length-delimited body: `reserve` bytes for its length, returns where they are. */
  begin(reserve: number): number {
    this.ensure(reserve);
    const at = this.pos;
    this.pos += reserve;
    return at;
  }

  /** Ends the body begun at `at`: writes its length there (minimal varint, as the SDK's). */
  end(at: number, reserve: number): void {
    const len = this.pos - at - reserve;
    if (len < 128 && reserve === 1) { this.buf[at] = len; return; }
    const n = varintSize(len);
    if (n !== reserve) {
      this.ensure(n - reserve);
      this.buf.copyWithin(at + n, at + reserve, this.pos);
      this.pos += n - reserve;
    }
    let v = len;
    for (let i = 0; i < n - 1; i++) { this.buf[at + i] = (v % 128) | 128; v = Math.floor(v / 128); }
    this.buf[at + n - 1] = v;
  }

  /** Bytes encoded once (an attribute key's field), copied. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const buf = this.buf;
    const p = this.pos;
    for (let i = 0; i < n; i++) buf[p + i] = bytes[i]!;
    this.pos = p + n;
  }

  /** Length and UTF-8 bytes. */
  string(s: string): void {
    const n = s.length;
    if (n <= 8) {
      // Short ASCII: the characters as bytes (cheaper than a call into C++).
      this.ensure(n + 1);
      const buf = this.buf;
      const p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 128) break;
        buf[p + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = p + n;
        return;
      }
    }
    if (n < 43) {
      // At most 3 bytes a character: the length fits the one byte reserved before the bytes.
      this.ensure(3 * n + 1);
      const written = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = written;
      this.pos += written + 1;
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  /** Length and the bytes of a hex ID (`bytes` long), as the SDK's hexToBinary reads it. */
  hexId(hex: string, bytes: number): void {
    if (hex.length !== 2 * bytes) throw new Unsupported(`ID of ${hex.length} hex digits`);
    this.ensure(bytes + 1);
    this.buf[this.pos] = bytes;
    // Buffer's hex decoder stops at the first character that is not a hex digit.
    if (this.buf.write(hex, this.pos + 1, bytes, 'hex') !== bytes) throw new Unsupported(`ID ${hex} is not hex`);
    this.pos += bytes + 1;
  }

  fixed64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
}

// Tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
const LEN = 2;
const tag = (field: number, wire: number): number => (field << 3) | wire;

// Attribute keys are a small fixed set (span-attributes.ts): each key's field (tag, length,
// bytes) is encoded once and copied. Bounded, in case some span brings keys of its own.
const keyFields = new Map<string, Buffer>();
const MAX_KEYS = 256;

function keyField(key: string): Buffer | null {
  let f = keyFields.get(key);
  if (f === undefined && keyFields.size < MAX_KEYS && key.length < 100) {
    const w = new Writer(key.length * 3 + 2);
    w.byte(tag(1, LEN));
    w.string(key);
    f = Buffer.from(w.buf.subarray(0, w.pos));
    keyFields.set(key, f);
  }
  return f ?? null;
}

/** KeyValue (key 1, AnyValue 2) for each attribute, under `field`. */
function writeAttributes(w: Writer, field: number, attrs: OtelAttributes): void {
  for (const key in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
    const value = attrs[key];
    w.varint(tag(field, LEN));
    const kv = w.begin(1);
    const kf = keyField(key);
    if (kf) w.raw(kf);
    else {
      w.byte(tag(1, LEN));
      w.string(key);
    }
    w.byte(tag(2, LEN));
    const any = w.begin(1);
    if (typeof value === 'string') {
      w.byte(tag(1, LEN));
      w.string(value);
    } else if (typeof value === 'boolean') {
      w.byte(tag(2, 0));
      w.byte(value ? 1 : 0);
    } else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
      w.byte(tag(3, 0));
      w.varint(value);
    } else if (typeof value === 'number' && !Number.isInteger(value)) {
      w.byte(tag(4, 1));
      w.ensure(8);
      w.buf.writeDoubleLE(value, w.pos);
      w.pos += 8;
    } else if (value != null) {
      // Negative or huge integers, arrays, byte arrays: the SDK's writer knows them.
      throw new Unsupported(`attribute ${key}`);
    }
    w.end(any, 1);
    w.end(kv, 1);
  }
}

const FLAGS_HAS_IS_REMOTE = 0x100;
const FLAGS_IS_REMOTE = 0x200;

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
  w.fixed64(unixNs(s.startNs));
  w.byte(tag(8, 1));
  w.fixed64(unixNs(s.endNs));
  writeAttributes(w, 9, s.attributes);
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

/**
 * ExportTraceServiceRequest for `spans`, or null when a span is outside what this encoder writes
 * (the caller then uses the SDK's serializer for the whole batch).
 */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array | null {
  const first = spans[0];
  if (!(first instanceof SpanRecord)) return null;
  for (const s of spans) {
    if (!(s instanceof SpanRecord) || s.resource !== first.resource || s.instrumentationScope !== first.instrumentationScope) return null;
  }
  const w = new Writer(256 + spans.length * 512);
  try {
    const { resource, instrumentationScope: scope } = first;
    w.byte(tag(1, LEN));
    const rs = w.begin(3);
    w.byte(tag(1, LEN));
    const res = w.begin(2);
    writeAttributes(w, 1, resource.attributes);
    w.byte(tag(2, 0));
    w.byte(0);
    w.end(res, 2);
    w.byte(tag(2, LEN));
    const ss = w.begin(3);
    w.byte(tag(1, LEN));
    const sc = w.begin(1);
    w.byte(tag(1, LEN));
    w.string(scope.name);
    if (scope.version) {
      w.byte(tag(2, LEN));
      w.string(scope.version);
    }
    // (InstrumentationScope's attributes, field 3, are not in the SDK's scope type: none to write.)
    w.end(sc, 1);
    for (const s of spans) writeSpan(w, s as SpanRecord);
    if (scope.schemaUrl) {
      w.byte(tag(3, LEN));
      w.string(scope.schemaUrl);
    }
    w.end(ss, 3);
    if (resource.schemaUrl) {
      w.byte(tag(3, LEN));
      w.string(resource.schemaUrl);
    }
    w.end(rs, 3);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
  return w.buf.subarray(0, w.pos);
}
