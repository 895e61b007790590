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

const idPool = Buffer.alloc(4096);
let idHex = '';
let idUsed = idPool.length;

/** `n` random bytes (not all zero) as 2n hex digits, cut from the rendered pool. */
function randomHex(n: number): string {
  for (;;) {
    if (idUsed + n > idPool.length) {
      randomFillSync(idPool);
      idHex = idPool.toString('hex');
      idUsed = 0;
    }
    const at = idUsed;
    idUsed += n;
    let any = 0;
    for (let i = 0; i < n; i++) any |= idPool[at + i]!;
    // All zero: draw again (one chance in 2^64 or 2^128).
    if (any !== 0) return idHex.slice(2 * at, 2 * (at + n));
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
