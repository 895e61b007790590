// A growable protobuf writer for the OTLP encoder (otlp-protobuf.ts): varints, fixed-width
// numbers, length-delimited bodies (lengths reserved and the body moved only when the guess was
// wrong, so the output is the minimal encoding the SDK's serializer writes), strings, hex IDs
// as bytes (copied from the random pool when this process drew them). Attribute keys are a small fixed set: each key's field is encoded once and copied.

import { copyDrawnId } from './ids.ts';

/** A value this encoder does not write (an ID that is not hex, say): the span is not encoded. */
export class Unsupported extends Error {}

export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) { v = Math.floor(v / 128); n++; }
  return n;
}

// Tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
export const LEN = 2;
export const tag = (field: number, wire: number): number => (field << 3) | wire;

const TWO_64 = 1n << 64n;

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** A hex digit's value, -1 for any other character. */
function hexValue(c: number): number {
  return c < 128 ? HEX_VALUE[c]! : -1;
}

export class Writer {
  buf: Buffer;
  pos = 0;

  /** A new buffer of `size` bytes, or `reuse` (a buffer whose earlier contents are done with) when it is at least that big. */
  constructor(size: number, reuse: Buffer | null = null) {
    this.buf = reuse !== null && reuse.length >= size ? reuse : Buffer.allocUnsafe(size);
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

  /** An int64 (a negative one is ten bytes of two's complement, as the SDK writes it). */
  int64(v: number): void {
    if (v >= 0) { this.varint(v); return; }
    let u = BigInt(v) + TWO_64;
    this.ensure(10);
    while (u >= 128n) {
      this.buf[this.pos++] = Number(u & 127n) | 128;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
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

  /** Bytes encoded once (an attribute key's field, a repeated value's whole field), copied. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const buf = this.buf;
    const p = this.pos;
    // A few bytes by hand; more with TypedArray's set (a memcpy inside V8, no call into Node's C++).
    if (n < 16) for (let i = 0; i < n; i++) buf[p + i] = bytes[i]!;
    else buf.set(bytes, p);
    this.pos = p + n;
  }

  /** UTF-8 bytes without a length (a piece of a string field begun with begin()). */
  text(s: string): void {
    const n = s.length;
    this.ensure(3 * n);
    if (n <= 8) {
      const buf = this.buf;
      const p = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 128) break;
        buf[p + i] = c;
      }
      if (i === n) { this.pos = p + n; return; }
    }
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Length and UTF-8 bytes. */
  string(s: string): void {
    const n = s.length;
    if (n < 43) {
      // At most 3 bytes a character: the length fits the one byte reserved before the bytes.
      const at = this.begin(1);
      this.text(s);
      this.buf[at] = this.pos - at - 1;
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  /**
   * Length and the bytes of an ID: copied from the random pool when this process drew it and the
   * pool still holds it (`ticket`, ids.ts), else decoded from its hex (hexId); the same bytes.
   */
  id(hex: string, ticket: number, bytes: number): void {
    this.ensure(bytes + 1);
    const p = this.pos;
    if (copyDrawnId(ticket, bytes, this.buf, p + 1)) {
      this.buf[p] = bytes;
      this.pos = p + 1 + bytes;
      return;
    }
    this.hexId(hex, bytes);
  }

  /** A field's tag (one byte), then the ID as id() writes it. */
  idField(t: number, hex: string, ticket: number, bytes: number): void {
    this.ensure(bytes + 2);
    this.buf[this.pos++] = t;
    this.id(hex, ticket, bytes);
  }

  /** Length and the bytes of a hex ID (`bytes` long), as the SDK's hexToBinary reads it. */
  hexId(hex: string, bytes: number): void {
    if (hex.length !== 2 * bytes) throw new Unsupported(`ID of ${hex.length} hex digits`);
    this.ensure(bytes + 1);
    const buf = this.buf;
    const p = this.pos + 1;
    // A request's spans share their trace ID: the last one decoded is copied, from a fixed array
    // by one TypedArray copy (~200 instructions; a byte loop is ~30 a byte in the bench's
    // children; Buffer's copy and a subarray per decode, before, ~2.9 k per hop pair).
    const trace = bytes === 16;
    if (trace && hex === lastTraceHex) {
      buf[p - 1] = 16;
      buf.set(lastTraceBytes, p);
      this.pos = p + 16;
      return;
    }
    // (forgotten first: a decode that throws half way leaves the bytes of no ID)
    if (trace) lastTraceHex = '';
    // By table, in JS: 8 or 16 bytes cost less than a call into Buffer's C++ hex decoder.
    for (let i = 0; i < bytes; i++) {
      const hi = hexValue(hex.charCodeAt(2 * i));
      const lo = hexValue(hex.charCodeAt(2 * i + 1));
      if ((hi | lo) < 0) throw new Unsupported(`ID ${hex} is not hex`);
      const b = (hi << 4) | lo;
      buf[p + i] = b;
      if (trace) lastTraceBytes[i] = b;
    }
    buf[p - 1] = bytes;
    this.pos = p + bytes;
    if (trace) lastTraceHex = hex;
  }

  /**
   * fixed64 of `v + (addHi * 2^32 + addLo)` (an hrtime stamp plus the Unix anchor, span-record.ts)
   * without BigInt arithmetic: the stamp is stored once into a 64-bit typed array and the sum is
   * done on its two 32-bit words. The BigInt add and Buffer's writeBigUInt64LE (its range checks
   * and BigInt shifts) cost ~1 k instructions a timestamp; this is a few dozen.
   */
  fixed64Plus(v: bigint, addLo: number, addHi: number): void {
    if (!LITTLE_ENDIAN) { this.fixed64(v + BigInt(addHi) * 4294967296n + BigInt(addLo)); return; }
    stamp[0] = v;
    let lo = stampWords[0]! + addLo;
    let hi = stampWords[1]! + addHi;
    if (lo >= 4294967296) { lo -= 4294967296; hi += 1; }
    this.ensure(8);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = lo & 255;
    buf[p + 1] = (lo >>> 8) & 255;
    buf[p + 2] = (lo >>> 16) & 255;
    buf[p + 3] = lo >>> 24;
    buf[p + 4] = hi & 255;
    buf[p + 5] = (hi >>> 8) & 255;
    buf[p + 6] = (hi >>> 16) & 255;
    buf[p + 7] = (hi >>> 24) & 255;
    this.pos = p + 8;
  }

  /** A field's tag (one byte), then fixed64Plus's eight bytes. */
  fixed64PlusField(t: number, v: bigint, addLo: number, addHi: number): void {
    this.ensure(9);
    this.buf[this.pos++] = t;
    this.fixed64Plus(v, addLo, addHi);
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

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
}

/** The last trace ID hexId decoded, and its bytes. */
let lastTraceHex = '';
const lastTraceBytes = new Uint8Array(16);

// fixed64Plus's scratch: a stamp's two 32-bit words, read in this machine's byte order.
const stamp = new BigUint64Array(1);
const stampWords = new Uint32Array(stamp.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// Each attribute key's field (tag, length, bytes), encoded once. Bounded, in case some span
// brings keys of its own.
const keyFields = new Map<string, Buffer>();
const MAX_KEYS = 256;

/** The key's field (KeyValue.key, field 1) as bytes, or null when it is not cached. */
export function keyField(key: string): Buffer | null {
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
