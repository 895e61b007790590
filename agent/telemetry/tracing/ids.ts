// Trace and span IDs from a pooled random buffer: one getrandom call per ~170 traces (the SDK's
// generator calls Math.random per four bytes and builds each ID string by concatenation). The
// bytes are crypto-grade (IDs must not collide across millions of processes), written as
// lowercase hex, never all zero (W3C: an all-zero ID is invalid).
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let used = pool.length;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const scratch = Buffer.alloc(32);

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

function randomHex(n: number): string {
  // All zero: draw again (one chance in 2^64 or 2^128).
  while (!writeRandomHex(scratch, 0, n));
  return scratch.toString('latin1', 0, 2 * n);
}

/** 16 random bytes as 32 hex digits. */
export function randomTraceId(): string {
  return randomHex(16);
}

/** 8 random bytes as 16 hex digits. */
export function randomSpanId(): string {
  return randomHex(8);
}
