// One span attribute (OTLP KeyValue { key, AnyValue }) at a time, into a protobuf Writer. Two
// ways: the general one (any key, any string, number or boolean; lengths reserved and fixed
// after, as protobuf-writer.ts does), and a fast one for the attributes meshlet writes on every
// sampled span from its request and attempt events: each key's bytes, up to the value's tag, are
// encoded once (AttrKey) and copied, and a value that is ASCII and short enough for one-byte
// lengths (almost all: methods, paths, addresses, route and backend names) is written by one
// loop with its lengths known up front: no reserved lengths to fix, no call into Buffer's C++
// UTF-8 writer, no Map lookup of the key. Anything else falls back to the general way, so the
// bytes are the same either way (the SDK serializer's: otlp-protobuf.test.ts compares them).
import { keyField, LEN, tag, type Writer } from './protobuf-writer.ts';

/** KeyValue field's key and value tag, under `field`, with its lengths still open. */
export function key(w: Writer, field: number, k: string): number {
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

/** A string attribute: KeyValue { key, AnyValue { string_value } } under `field`. */
export function str(w: Writer, field: number, k: string, v: string): void {
  const kv = key(w, field, k);
  const any = w.begin(1);
  w.byte(tag(1, LEN));
  w.string(v);
  w.end(any, 1);
  w.end(kv, 1);
}

export function bool(w: Writer, field: number, k: string, v: boolean): void {
  const kv = key(w, field, k);
  w.byte(2);
  w.byte(tag(2, 0));
  w.byte(v ? 1 : 0);
  w.end(kv, 1);
}

const INT64_RANGE = 2 ** 63;

/** A number attribute: int_value when an integer in int64's range (as the SDK decides), else double_value. */
export function num(w: Writer, field: number, k: string, v: number): void {
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
}

/** A key's KeyValue bytes up to its AnyValue's length: tag, (KeyValue length), key field, AnyValue tag. */
export class AttrKey {
  readonly field: number;
  readonly key: string;
  readonly bytes: Uint8Array;
  /** The longest value whose lengths all fit one byte (KeyValue's is the largest: < 128). */
  readonly maxFast: number;

  constructor(field: number, key: string) {
    this.field = field;
    this.key = key;
    const kf = keyField(key) ?? Buffer.from([]);
    const bytes = new Uint8Array(2 + kf.length + 1);
    bytes[0] = tag(field, LEN);
    bytes.set(kf, 2);
    bytes[bytes.length - 1] = tag(2, LEN);
    // A key whose field is not cached, or whose own bytes need the general writer: never fast.
    const fast = field < 16 && kf.length > 0 && kf.length < 120;
    this.bytes = bytes;
    // KeyValue length = key field + AnyValue tag + its length byte + value tag + value length byte + n.
    this.maxFast = fast ? 127 - (kf.length + 1 + 1 + 2) : -1;
  }
}

/** Writes `k`'s bytes at `p` and sets the KeyValue's and AnyValue's lengths for a body of `body` bytes after them; the body's start. */
function head(buf: Buffer, p: number, k: AttrKey, body: number): number {
  const kb = k.bytes;
  const n = kb.length;
  // Counted (callgrind): a JS byte loop costs ~16 instructions a byte, TypedArray's set ~200 a call.
  if (n > 12) buf.set(kb, p);
  else for (let i = 0; i < n; i++) buf[p + i] = kb[i]!;
  buf[p + 1] = n - 2 + 1 + body;
  buf[p + n] = body;
  return p + n + 1;
}

/**
 * Characters from..to of `s` as bytes at `p` when they are all ASCII: false otherwise (what was
 * written past `p` is then garbage). A short run by a JS loop (~33 instructions a character); a
 * longer one by Buffer's UTF-8 writer: it wrote one byte a character exactly when every character
 * is ASCII. The writer is one call into C++, ~370 instructions counted alone, but ~1 k a call in
 * the bench's children (its JS wrapper, argument checks and the API callback: 8 calls, 8.7 k per
 * hop pair, session 14), hence the loop up to 24 characters (a path like /api/items/17, an
 * authority, an address).
 */
function ascii(buf: Buffer, p: number, s: string, from: number, to: number): boolean {
  const n = to - from;
  if (n > 24 && from === 0 && to === s.length) return buf.write(s, p, 3 * n, 'utf8') === n;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) return false;
    buf[p + i - from] = c;
  }
  return true;
}

/**
 * Writes the key and the string value's tag and one-byte length for a value of `n` characters
 * (n <= k.maxFast) and returns where its bytes go; the caller sets `w.pos` past them only once
 * they proved ASCII (else it falls back to the general writer, which overwrites this).
 */
function openString(w: Writer, k: AttrKey, n: number): number {
  w.ensure(k.bytes.length + 3 + 3 * n);
  const buf = w.buf;
  const v = head(buf, w.pos, k, 2 + n);
  buf[v] = tag(1, LEN);
  buf[v + 1] = n;
  return v + 2;
}

/** The string attribute `k` = s.slice(from, to) (whole `s` by default), by the fast way when it can. */
export function strAttr(w: Writer, k: AttrKey, s: string, from = 0, to = s.length): void {
  const n = to - from;
  if (n <= k.maxFast) {
    const p = openString(w, k, n);
    if (ascii(w.buf, p, s, from, to)) { w.pos = p + n; return; }
  }
  str(w, k.field, k.key, from === 0 && to === s.length ? s : s.slice(from, to));
}

/** The string attribute `k` = a + b + c (url.full from its pieces), by the fast way when it can. */
export function concatAttr(w: Writer, k: AttrKey, a: string, b: string, c: string): void {
  const n = a.length + b.length + c.length;
  if (n <= k.maxFast) {
    const p = openString(w, k, n);
    const buf = w.buf;
    if (ascii(buf, p, a, 0, a.length) && ascii(buf, p + a.length, b, 0, b.length) && ascii(buf, p + a.length + b.length, c, 0, c.length)) {
      w.pos = p + n;
      return;
    }
  }
  str(w, k.field, k.key, a + b + c);
}

/** The number attribute `k` = v, by the fast way for a non-negative integer below 2^28 (a status, a port, an attempt). */
export function intAttr(w: Writer, k: AttrKey, v: number): void {
  if (v >= 0 && v < 268435456 && (v | 0) === v && k.maxFast >= 0) {
    const size = v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
    w.ensure(k.bytes.length + 2 + size);
    const buf = w.buf;
    let p = head(buf, w.pos, k, 1 + size);
    buf[p++] = tag(3, 0);
    while (v >= 128) { buf[p++] = (v & 127) | 128; v >>>= 7; }
    buf[p++] = v;
    w.pos = p;
    return;
  }
  num(w, k.field, k.key, v);
}

/** The boolean attribute `k` = v. */
export function boolAttr(w: Writer, k: AttrKey, v: boolean): void {
  bool(w, k.field, k.key, v);
}
