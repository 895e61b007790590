// Trace and span IDs from pooled random bytes: one getrandom call per ~170 traces (the SDK's
// generator calls Math.random per four bytes and builds each ID string by concatenation). The
// bytes are crypto-grade (IDs must not collide across millions of processes), written as
// lowercase hex, never all zero (W3C: an all-zero ID is invalid).
//
// Two pools: the unsampled traceparent (tracer.ts) writes its bytes as hex straight into its
// header, while a sampled span's ID is a string cut from a pool rendered to hex once per refill
// (one C++ call for 4 KB; a slice of 16 or 32 characters then shares that string, no copy):
// ~0.7 k instructions per ID, against ~1.5 k for a JS hex loop and a latin1 string per ID.
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let used = pool.length;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** The offset of `n` fresh random bytes in the pool. */
function takeRandom(n: number): number {
  if (used + n > pool.length) { randomFillSync(pool); used = 0; }
  const at = used;
  used += n;
  return at;
}

/** Writes `n` random bytes as hex into `out` at `pos`; false when they were all zero. */
export function writeRandomHex(out: Buffer, pos: number, n: number): boolean {
  const at = takeRandom(n);
  let any = 0;
  for (let i = 0; i < n; i++) {
    const b = pool[at + i]!;
    any |= b;
    out[pos + 2 * i] = HEX[b >> 4]!;
    out[pos + 2 * i + 1] = HEX[b & 15]!;
  }
  return any !== 0;
}

// Unsampled traceparents (`00-<trace>-<span>-00`), rendered 64 at a time into one template
// whose dashes and version and flags never change: a refill writes the IDs' hex digits and
// makes one string, and each request then takes a 55-character slice of it (a sliced string, no
// copy and no per-request call into Buffer's C++, which was most of the 2.9 k instructions the
// header cost per request: ADR 0018).
const TP_LENGTH = 55;
const TP_BATCH = 64;
const tpTemplate = Buffer.from(`00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`.repeat(TP_BATCH), 'latin1');
let tpRendered = '';
let tpNext = TP_BATCH;

function renderTraceparents(): void {
  for (let k = 0; k < TP_BATCH; k++) {
    const at = k * TP_LENGTH;
    // All-zero IDs are invalid (W3C): draw again (one chance in 2^64).
    let drawn = false;
    while (!drawn) drawn = writeRandomHex(tpTemplate, at + 3, 16) && writeRandomHex(tpTemplate, at + 36, 8);
  }
  tpRendered = tpTemplate.toString('latin1');
  tpNext = 0;
}

/** A fresh traceparent for a trace this hop starts and does not sample: `00-<trace>-<span>-00`. */
export function unsampledTraceparent(): string {
  if (tpNext === TP_BATCH) renderTraceparents();
  const at = tpNext++ * TP_LENGTH;
  return tpRendered.slice(at, at + TP_LENGTH);
}

// A sampled span's IDs are also written as bytes, into its protobuf (otlp-protobuf.ts): decoding
// them back from hex cost ~80 instructions a digit in the bench's children (~8 k of the ~12 k
// `hexId` took per hop pair). So each ID drawn has a ticket, its offset counted from the first
// pool this process drew (a plain number, exact far past any process's lifetime), and the encoder
// copies the bytes from the pool while they are still there (`copyDrawnId`); a refill moves the
// pool's base past every ticket it overwrites, so a stale ticket is refused, never misread.
const idPool = Buffer.alloc(4096);
/** idPool's 16-byte views at every multiple of 8 (made once), for copyDrawnId. */
const traceViews = Array.from({ length: idPool.length / 8 - 1 }, (_, j) => idPool.subarray(8 * j, 8 * j + 16));
let idHex = '';
let idUsed = idPool.length;
/** The ticket of idPool[0]; -idPool.length before the first refill. */
let idBase = -idPool.length;
let lastAt = -1;

/** `n` random bytes (not all zero) as 2n hex digits, cut from the rendered pool. */
function randomHex(n: number): string {
  for (;;) {
    if (idUsed + n > idPool.length) {
      randomFillSync(idPool);
      idHex = idPool.toString('hex');
      idUsed = 0;
      idBase += idPool.length;
    }
    const at = idUsed;
    idUsed += n;
    let any = 0;
    for (let i = 0; i < n; i++) any |= idPool[at + i]!;
    // All zero: draw again (one chance in 2^64 or 2^128).
    if (any !== 0) {
      lastAt = idBase + at;
      return idHex.slice(2 * at, 2 * (at + n));
    }
  }
}

/** 16 random bytes as 32 hex digits. */
export function randomTraceId(): string {
  return randomHex(16);
}

/** 8 random bytes as 16 hex digits. */
export function randomSpanId(): string {
  return randomHex(8);
}

/** The ticket of the last ID randomTraceId or randomSpanId returned (-1 before any). */
export function lastIdTicket(): number {
  return lastAt;
}

/**
 * Writes the `n` bytes of the ID drawn with `ticket` into `out` at `p` and returns true, or
 * returns false (nothing written) when the pool no longer holds them or the ticket is -1.
 */
export function copyDrawnId(ticket: number, n: number, out: Uint8Array, p: number): boolean {
  const i = ticket - idBase;
  if (ticket < 0 || i < 0) return false;
  // A trace ID's 16 bytes by one TypedArray copy from a view made once (every draw is 8 or 16
  // bytes, so every ID starts at a multiple of 8): ~200 instructions, where the byte loop
  // costs ~30 a byte in the bench's children; a span ID's 8 by the loop.
  if (n === 16 && (i & 7) === 0) out.set(traceViews[i >> 3]!, p);
  else for (let k = 0; k < n; k++) out[p + k] = idPool[i + k]!;
  return true;
}

