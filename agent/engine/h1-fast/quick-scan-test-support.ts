// What the tests of the JS scans (response-quick.test.ts, request-quick.test.ts) share: llhttp's
// reading of the same bytes, to compare with, and the seeded byte-level mutation of a message.
import { LlhttpParser, type H1Events } from './llhttp.ts';

export interface LlhttpHead { major: number; minor: number; method: string; target: string; status: number; reason: string; fields: string[]; upgrade: boolean; keepAlive: boolean }
export interface LlhttpRead { heads: LlhttpHead[]; body: Buffer; completes: number; result: string }

/** Everything llhttp (Node's binding, through llhttp.ts) reports for `bytes` given in one execute. */
export function viaLlhttp(kind: 'request' | 'response', bytes: Buffer): LlhttpRead {
  const read: LlhttpRead = { heads: [], body: Buffer.alloc(0), completes: 0, result: '' };
  const events: H1Events = {
    onHead: (major, minor, fields, method, target, status, reason, upgrade, keepAlive) => {
      read.heads.push({ major, minor, method, target, status, reason, fields: [...fields], upgrade, keepAlive });
      return 0;
    },
    onBody: (piece) => { read.body = Buffer.concat([read.body, piece]); },
    onTrailers: () => undefined,
    onComplete: () => { read.completes++; },
  };
  const p = new LlhttpParser(kind, events);
  const r = p.execute(bytes);
  read.result = r.kind === 'error' ? r.error.code : r.kind;
  p.close();
  return read;
}

/** `base` with one to three seeded edits: a piece of `inserts` put in, bytes dropped, a case flipped, a random byte. */
export function mutate(base: string, rnd: () => number, inserts: readonly string[]): string {
  let s = base;
  const ops = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(rnd() * (s.length + 1));
    switch (Math.floor(rnd() * 4)) {
      case 0: s = s.slice(0, at) + inserts[Math.floor(rnd() * inserts.length)]! + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 3)); break;
      case 2: {
        const c = s[at] ?? '';
        s = s.slice(0, at) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + s.slice(at + 1);
        break;
      }
      default: s = s.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + s.slice(at + 1);
    }
  }
  return s;
}
