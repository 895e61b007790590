// The common client request read without llhttp (issue 16's request direction, the twin of
// response-quick.ts): a whole HTTP/1.1 request in one read, a plain head and either no body or a
// Content-Length body below the bypass size, ending exactly where the read ends. Through Node's
// llhttp binding such a request costs ~11 k instructions besides our own work (the head callback
// with its field strings and array built in C++, the body callback with a copied Buffer, each a
// C++ → JS call inside an async-context scope, and the execute call); scanned here, a few.
// A request is a smuggling surface, so what this accepts is a strict subset of what llhttp
// accepts, read the same way: one of a few methods, an origin-form target of RFC 3986 path and
// query characters, `HTTP/1.1`, single spaces, CRLF line ends and quick-scan.ts's plain field
// lines (no Transfer-Encoding, Upgrade, Expect, Proxy-Connection, no Connection but
// `keep-alive`, at most one decimal Content-Length, no obs-fold, bare CR or LF, controls, NUL or
// non-ASCII bytes, whitespace before a colon or after a value, empty values, heads over 16 KB).
// Anything else returns null and the bytes go to llhttp unchanged (request-quick.test.ts
// compares the two on seeded mutations and smuggling corpora).
import { CR, fieldStrings, HEAD_LIMIT, latin1, LF, scanFields, scanned, SP } from './quick-scan.ts';

/** What the scan read: valid until the next call (one object, reused). */
export interface QuickRequest {
  method: string;
  target: string;
  /** [name, value, …] as received, leading whitespace of values dropped (as llhttp reports them). */
  fields: string[];
  /** Offset of the body in the read, and its length (0: none). */
  bodyStart: number;
  bodyLength: number;
}

const out: QuickRequest = { method: '', target: '', fields: [], bodyStart: 0, bodyLength: 0 };

/** The methods taken here (llhttp's spelling, upper case): the common ones, none that llhttp treats specially. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

/** A byte of an origin-form target taken here: RFC 3986 unreserved, sub-delims, ':', '@', '/', '?', '%'. */
const TARGET = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?%") TARGET[c.charCodeAt(0)] = 1;

/** The method at the start of `d` ending at `end` (a space), or null when it is not one of METHODS. */
function methodAt(d: Buffer, end: number): string | null {
  for (const m of METHODS) {
    if (m.length !== end) continue;
    let k = 0;
    while (k < end && d[k] === m.charCodeAt(k)) k++;
    if (k === end) return m;
  }
  return null;
}

/**
 * The request in `d` when it is a whole plain HTTP/1.1 request that ends where `d` ends, with
 * no body or a Content-Length body shorter than `maxBody`; else null (llhttp reads it). The
 * bytes are checked first, then the head becomes one string and its parts slices of it.
 */
export function quickRequest(d: Buffer, maxBody: number): QuickRequest | null {
  const n = d.length;
  const limit = n < HEAD_LIMIT ? n : HEAD_LIMIT;
  // METHOD SP
  let i = 0;
  while (i < 8 && i < limit && d[i] !== SP) i++;
  const methodEnd = i;
  const method = i < limit && d[i] === SP ? methodAt(d, methodEnd) : null;
  if (method === null) return null;
  // origin-form target SP
  i++;
  const targetStart = i;
  if (i >= limit || d[i] !== 0x2f /* / */) return null;
  while (i < limit && TARGET[d[i]!] === 1) i++;
  const targetEnd = i;
  // SP HTTP/1.1 CRLF
  if (i + 10 >= limit || d[i] !== SP || d[i + 1] !== 72 || d[i + 2] !== 84 || d[i + 3] !== 84 || d[i + 4] !== 80 || d[i + 5] !== 47
    || d[i + 6] !== 49 || d[i + 7] !== 46 || d[i + 8] !== 49 || d[i + 9] !== CR || d[i + 10] !== LF) return null;
  i = scanFields(d, i + 11, limit);
  if (i < 0) return null;
  const length = scanned.length < 0 ? 0 : scanned.length;
  if (length >= maxBody || i + length !== n) return null;
  const head = latin1(d, 0, i);
  out.method = method;
  out.target = head.slice(targetStart, targetEnd);
  out.fields = fieldStrings(head);
  out.bodyStart = i;
  out.bodyLength = length;
  return out;
}
