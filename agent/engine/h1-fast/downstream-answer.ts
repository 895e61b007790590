// The fast path's own answers, byte for byte what the general path sends for the same cause:
// a Rejection (rejection.ts) in error-response.ts's form (text body, content-length,
// meshlet-reason), and node:http's bare answers to broken requests (400, 408 head timeout,
// 431 head too large), which close the connection. Each is one buffer, written with whatever
// else the current read produced.
import { reasonHeader, type Rejection } from '../rejection.ts';
import { BAD_VALUE, TOKEN } from './head-writer.ts';
import { httpDate } from './http-date.ts';

// node:http through process.getBuiltinModule, not `import`: an ES import of node:http builds its
// namespace by reading every export, and the lazy WebSocket/CloseEvent/MessageEvent getters among
// them load Node's bundled undici, http2, zlib and more: +13 MB RSS in an idle process (ADR 0012).
const { STATUS_CODES } = process.getBuiltinModule('node:http');


/**
 * A rejection as an HTTP/1.1 response. `close`: the connection ends after it (`connection:
 * close`); otherwise `keepAlive` (head-writer.ts keepAliveFields) tells the client so.
 * `head`: the answer to a HEAD request, which has no body (RFC 9110 §9.3.2); its Content-Length
 * still says what a GET would get, as node:http writes it on the general path. A body here would
 * be read by the client as the start of the next response.
 */
export function rejectionBytes(rejection: Rejection, headers: Readonly<Record<string, string | string[]>>, close: boolean, keepAlive = '', head = false): Buffer {
  const body = `${rejection.reason}\n`;
  let out = `HTTP/1.1 ${rejection.status} ${STATUS_CODES[rejection.status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'date' || lower === 'content-type' || lower === 'content-length' || lower === 'meshlet-reason' || lower === 'connection' || !TOKEN.test(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) if (!BAD_VALUE.test(v)) out += `${name}: ${v}\r\n`;
  }
  out += `date: ${httpDate()}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nmeshlet-reason: ${reasonHeader(rejection.reason)}\r\n`;
  out += close ? 'connection: close\r\n' : keepAlive;
  return Buffer.from(head ? `${out}\r\n` : `${out}\r\n${body}`, 'utf8');
}

/** node:http's answers to requests it cannot parse or that come too slowly; the connection closes. */
export const BAD_REQUEST = Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n', 'latin1');
export const HEAD_TOO_LARGE = Buffer.from('HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n', 'latin1');
export const REQUEST_TIMEOUT = Buffer.from('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n', 'latin1');

/** The bare answer node:http gives for an llhttp error code. */
export function parseErrorBytes(code: string): Buffer {
  return code === 'HPE_HEADER_OVERFLOW' ? HEAD_TOO_LARGE : BAD_REQUEST;
}
