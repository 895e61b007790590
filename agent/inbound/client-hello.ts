// Reads a TLS ClientHello's ALPN list without consuming it: the inbound side must know whether a
// TLS connection is meshlet's mTLS (terminate) or the app's own TLS (pass through untouched)
// before anyone reads it. parseClientHelloAlpn() is pure (RFC 8446 §4.1.2 framing); the peek
// reads until the first handshake record is complete, then puts every byte back.
import type { Socket } from 'node:net';

export type HelloParse =
  | { kind: 'complete'; alpn: string[] }
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string };

/** The largest first record we wait for (a TLS record's payload is at most 16 KiB). */
export const MAX_HELLO_BYTES = 5 + 16_384;

export function parseClientHelloAlpn(buf: Buffer): HelloParse {
  if (buf.length < 5) return { kind: 'incomplete' };
  if (buf[0] !== 0x16) return { kind: 'invalid', reason: 'not a TLS handshake record' };
  const recordLen = buf.readUInt16BE(3);
  if (recordLen > 16_384) return { kind: 'invalid', reason: 'record too long' };
  if (buf.length < 5 + recordLen) return { kind: 'incomplete' };
  const hs = buf.subarray(5, 5 + recordLen);
  // A ClientHello split over several records is legal but unusual; meshlet's own never is.
  if (hs.length < 4 || hs[0] !== 0x01) return { kind: 'invalid', reason: 'not a ClientHello' };
  const helloLen = hs.readUIntBE(1, 3);
  if (helloLen + 4 > hs.length) return { kind: 'complete', alpn: [] };
  let p = 4 + 2 + 32; // type+length, client_version, random
  const need = (n: number): boolean => p + n <= 4 + helloLen;
  if (!need(1)) return { kind: 'invalid', reason: 'truncated session id' };
  p += 1 + hs[p]!;
  if (!need(2)) return { kind: 'invalid', reason: 'truncated cipher suites' };
  p += 2 + hs.readUInt16BE(p);
  if (!need(1)) return { kind: 'invalid', reason: 'truncated compression methods' };
  p += 1 + hs[p]!;
  if (!need(2)) return { kind: 'complete', alpn: [] }; // no extensions at all
  const extEnd = p + 2 + hs.readUInt16BE(p);
  p += 2;
  if (extEnd > 4 + helloLen) return { kind: 'invalid', reason: 'extensions overrun the ClientHello' };
  while (p + 4 <= extEnd) {
    const type = hs.readUInt16BE(p);
    const len = hs.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return { kind: 'invalid', reason: 'extension overruns the list' };
    if (type === 16) {
      const alpn: string[] = [];
      let q = p + 2;
      const end = p + Math.min(len, 2 + hs.readUInt16BE(p));
      while (q < end) {
        const n = hs[q]!;
        if (q + 1 + n > end) return { kind: 'invalid', reason: 'ALPN entry overruns' };
        alpn.push(hs.toString('latin1', q + 1, q + 1 + n));
        q += 1 + n;
      }
      return { kind: 'complete', alpn };
    }
    p += len;
  }
  return { kind: 'complete', alpn: [] };
}

/** Resolves with the ClientHello's ALPN list ([] when absent or unreadable); bytes stay unread. */
export function peekClientHelloAlpn(socket: Socket, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve) => {
    let head: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (alpn: string[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (head.length > 0) socket.unshift(head);
      resolve(alpn);
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const r = parseClientHelloAlpn(head);
      if (r.kind === 'complete') finish(r.alpn);
      else if (r.kind === 'invalid' || head.length >= MAX_HELLO_BYTES) finish([]);
    };
    const onEnd = (): void => finish([]);
    const timer = setTimeout(() => finish([]), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}
