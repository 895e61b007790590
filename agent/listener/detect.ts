// Protocol detection on a freshly accepted connection: reads just enough of the client's first
// bytes to tell HTTP/1.x, HTTP/2 prior knowledge (h2c) and a TLS ClientHello apart, then puts
// them back (unshift) so the real protocol handler sees the stream from its first byte.
// Anything else, including silence for `timeoutMs` (server-first protocols such as MySQL or
// SMTP, whose clients wait for a greeting), is opaque TCP, except on a port declared HTTP:
// there silence is a slow client (or a pre-opened pool socket), not a server-first protocol,
// so detection goes on for `httpWaitMs` instead of guessing TCP (ADR 0006).
import type { Socket } from 'node:net';

export type DetectedProtocol = 'http1' | 'h2c' | 'tls' | 'tcp';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Longest request method we recognise plus its space; covers every registered method. */
const MAX_METHOD = 24;

/** Classifies the bytes seen so far, or returns null if more are needed to decide. */
export function classify(head: Buffer): DetectedProtocol | null {
  if (head.length === 0) return null;
  const b0 = head[0]!;
  if (b0 === 0x16) {
    // TLS record: handshake(22), version major 3.
    if (head.length < 3) return null;
    return head[1] === 0x03 ? 'tls' : 'tcp';
  }
  // H2 preface or a prefix of it.
  const n = Math.min(head.length, H2_PREFACE.length);
  if (head.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
    if (head.length >= H2_PREFACE.length) return 'h2c';
    return null;
  }
  // HTTP/1 request line: token of upper-case letters (and '-', '_') then a space.
  for (let i = 0; i < head.length && i < MAX_METHOD; i++) {
    const c = head[i]!;
    if (c === 0x20) return i > 0 ? 'http1' : 'tcp';
    const upper = c >= 0x41 && c <= 0x5a;
    if (!upper && c !== 0x2d && c !== 0x5f) return 'tcp';
  }
  return head.length >= MAX_METHOD ? 'tcp' : null;
}

export interface Detection {
  protocol: DetectedProtocol;
  /** The bytes read, already unshifted back into the socket. */
  head: Buffer;
  /** The client sent nothing it could be classified by before detection gave up. */
  silent: boolean;
}

/**
 * Reads until classify() decides, the timeout fires, or the client ends; never rejects. With
 * `httpWaitMs` (a port declared HTTP), the timeout does not decide: reading goes on for that
 * much longer, and a client silent all along comes back `silent` for the caller to close.
 */
export function detectProtocol(socket: Socket, timeoutMs: number, httpWaitMs = 0): Promise<Detection> {
  return new Promise((resolve) => {
    let head: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (protocol: DetectedProtocol): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (head.length > 0) socket.unshift(head);
      resolve({ protocol, head, silent: head.length === 0 });
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const p = classify(head);
      if (p) finish(p);
    };
    const onEnd = (): void => finish('tcp');
    // A timer that expired while the thread was busy runs before the loop polls sockets, so
    // bytes the client sent in time may be unread: decide one poll phase later (setImmediate
    // runs after it), and only if those bytes did not settle it.
    const later = (decide: () => void): void => void setImmediate(() => { if (!settled) decide(); });
    let timer = setTimeout(() => later(() => {
      if (httpWaitMs > 0) timer = setTimeout(() => later(() => finish('tcp')), httpWaitMs);
      else finish('tcp');
    }), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    socket.once('close', onEnd);
  });
}
