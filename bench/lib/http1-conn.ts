// A minimal keep-alive HTTP/1.1 client connection for the load generator: one request in
// flight at a time, a pre-built request buffer, and a response parser that handles exactly
// what the configurations send back (Content-Length or chunked bodies). Written by hand rather
// than using node:http or undici so the generator's own overhead per request stays a few
// microseconds and allocation-light, which keeps its noise out of the latency it measures.
import { connect, type Socket } from 'node:net';

export interface Http1Conn {
  /**
   * Sends one request; `done` is called once with the status (0 on a connection error) and the
   * response body's length in bytes (how the propagation test tells which route answered).
   */
  send(request: Buffer, done: (status: number, bodyBytes: number) => void): void;
  busy(): boolean;
  alive(): boolean;
  close(): void;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

export function openHttp1(host: string, port: number): Http1Conn {
  const socket: Socket = connect({ host, port, noDelay: true });
  let buf: Buffer = Buffer.alloc(0);
  let pending: ((status: number, bodyBytes: number) => void) | null = null;
  let bodyTotal = 0;
  let isAlive = true;
  // parser state for the response in progress
  let status = 0;
  let bodyLeft = -1; // bytes of body still expected (Content-Length mode)
  let chunked = false;
  let closeAfter = false;

  const finish = (code: number): void => {
    const cb = pending;
    pending = null;
    const len = bodyTotal;
    status = 0; bodyLeft = -1; chunked = false; bodyTotal = 0;
    if (closeAfter) { isAlive = false; socket.destroy(); }
    cb?.(code, len);
  };

  const fail = (): void => {
    isAlive = false;
    const cb = pending;
    pending = null;
    cb?.(0, 0);
  };

  /** Consumes chunked framing from buf; true when the last chunk and trailers are complete. */
  const consumeChunked = (): boolean => {
    for (;;) {
      const eol = buf.indexOf(CRLF);
      if (eol < 0) return false;
      const size = parseInt(buf.subarray(0, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) { socket.destroy(); fail(); return false; }
      if (size === 0) {
        const end = buf.indexOf(CRLF2, eol - 2 < 0 ? 0 : eol - 2);
        // "0\r\n\r\n": the blank line right after the zero chunk ends the message
        if (end < 0) return false;
        buf = buf.subarray(end + 4);
        return true;
      }
      if (buf.length < eol + 2 + size + 2) return false;
      bodyTotal += size;
      buf = buf.subarray(eol + 2 + size + 2);
    }
  };

  const parse = (): void => {
    while (pending !== null) {
      if (status === 0) {
        const end = buf.indexOf(CRLF2);
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        status = Number(head.slice(9, 12));
        const lower = head.toLowerCase();
        const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
        chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower);
        closeAfter = /\r\nconnection:\s*close/.test(lower);
        bodyLeft = cl?.[1] !== undefined ? Number(cl[1]) : (chunked ? -1 : 0);
        bodyTotal = chunked ? 0 : bodyLeft;
        if (status === 100) { status = 0; continue; }
      }
      if (chunked) {
        if (!consumeChunked()) return;
        finish(status);
      } else {
        if (buf.length < bodyLeft) { bodyLeft -= buf.length; buf = Buffer.alloc(0); return; }
        buf = buf.subarray(bodyLeft);
        finish(status);
      }
    }
  };

  socket.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    parse();
  });
  socket.on('error', () => { isAlive = false; });
  socket.on('close', () => { isAlive = false; fail(); });

  return {
    send(request, done) {
      if (pending !== null) throw new Error('http1 connection busy');
      pending = done;
      socket.write(request);
    },
    busy: () => pending !== null,
    alive: () => isAlive,
    close: () => { isAlive = false; socket.destroy(); },
  };
}

/** POST with an n-byte body to the upstream path answering n bytes (see upstream.ts). */
export function buildRequest(hostHeader: string, path: string, bodyBytes: number): Buffer {
  const body = Buffer.alloc(bodyBytes, 'x');
  const head = `POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: meshlet-bench\r\n` +
    `Content-Type: application/octet-stream\r\nContent-Length: ${bodyBytes}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
