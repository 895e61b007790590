// What the JS scans of whole plain HTTP/1.1 messages share (response-quick.ts for upstream
// answers, request-quick.ts for client requests; issue 16): the byte tables, the field-line loop
// with its refusals, and the strings built from one latin1 slice of the head. Everything here
// accepts only the plainest forms, so a scan that uses it accepts a strict subset of what llhttp
// accepts, read the same way; anything else is declined (-1) and the bytes go to llhttp.

/** node:http's head limit, which the llhttp parser applies too. */
export const HEAD_LIMIT = 16 * 1024;

export const CR = 13;
export const LF = 10;
export const SP = 32;
const HTAB = 9;
const COLON = 58;

/** RFC 9110 tchar, by byte. */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;
/** A byte of a reason phrase or field value a scan accepts: VCHAR, SP, HTAB (no obs-text, no controls). */
export const PLAIN = new Uint8Array(256);
for (let b = SP; b < 127; b++) PLAIN[b] = 1;
PLAIN[HTAB] = 1;

/** Fields one head may have here (more: llhttp reads it). */
const MAX_FIELDS = 64;
/** Per field: where its name starts and ends, where its value starts and ends (reused). */
const at = new Int32Array(MAX_FIELDS * 4);

/**
 * What the last `scanFields` found: the number of fields, the Content-Length (-1: none), and
 * whether every field line is written `name: value` (one SP after the colon): then each line's
 * bytes are what the head writer would write for it, and can be copied through (response-quick.ts).
 */
export const scanned = { count: 0, length: -1, spaced: true, runCount: 0 };

/**
 * The last scan's end-to-end lines as runs of bytes [start, end, …] (`scanned.runCount` pairs),
 * whole lines with their CRLF: every line but the ones a response's reader drops (hop-by-hop and
 * framing fields, response-head.ts's set, the ones this scan accepts at all: Content-Length,
 * Connection: keep-alive, Keep-Alive, TE, Trailer, Proxy-Authenticate, Proxy-Authorization).
 * Found by bytes here, not by the field strings (a lower-case copy and a set lookup per field
 * cost ~2 k instructions per response).
 */
export const keptRuns = new Int32Array(MAX_FIELDS * 2);

/** Per field of the last scan: name start, name end, value start, value end (read, never written, outside this file). */
export const fieldOffsets: Readonly<Int32Array> = at;

/** Buffer's own latin1 slice (what `toString('latin1', a, b)` calls after checking its arguments). */
export const latin1 = (d: Buffer, start: number, end: number): string => (d as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);

/** The bytes d[start, end) are `lower` (lower-case letters and '-') in any case. */
export function named(d: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) if ((d[start + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/**
 * The field lines of a head from `i` to its blank line, within `limit`: the offset after the
 * blank line, or -1 when any line is not of the plainest form (a field name of tchars, a colon
 * right after it, optional SP/HTAB, a non-empty value of plain bytes not ending in whitespace,
 * CRLF) or names a field whose handling llhttp must decide: Transfer-Encoding, Upgrade, Expect,
 * Proxy-Connection, a Connection other than `keep-alive`, a repeated or non-decimal
 * Content-Length. The fields' places are kept for `fieldStrings`, the count and the length in
 * `scanned`.
 */
export function scanFields(d: Buffer, i: number, limit: number): number {
  let count = 0;
  let length = -1;
  let spaced = true;
  let runs = 0;
  let runEnd = -1;
  for (;;) {
    if (i + 1 >= limit) return -1;
    if (d[i] === CR) {
      if (d[i + 1] !== LF) return -1;
      i += 2;
      break;
    }
    if (count === MAX_FIELDS) return -1;
    const nameStart = i;
    while (i < limit && TOKEN[d[i]!] === 1) i++;
    const nameEnd = i;
    if (i === nameStart || i >= limit || d[i] !== COLON) return -1;
    i++;
    while (i < limit && (d[i] === SP || d[i] === HTAB)) i++;
    const valueStart = i;
    if (valueStart - nameEnd !== 2 || d[nameEnd + 1] !== SP) spaced = false;
    while (i < limit && PLAIN[d[i]!] === 1) i++;
    if (i === valueStart || i + 1 >= limit || d[i] !== CR || d[i + 1] !== LF) return -1;
    const last = d[i - 1];
    if (last === SP || last === HTAB) return -1;
    const valueEnd = i;
    i += 2;
    // the fields llhttp reads for framing and the connection: only their plainest forms here
    const c = d[nameStart]! | 0x20;
    let hop = false;
    if (c === 99 /* c */) {
      hop = true;
      if (named(d, nameStart, nameEnd, 'content-length')) {
        if (length >= 0 || valueEnd - valueStart > 15) return -1;
        length = 0;
        for (let k = valueStart; k < valueEnd; k++) {
          const b = d[k]! - 48;
          if (b < 0 || b > 9) return -1;
          length = length * 10 + b;
        }
      } else if (named(d, nameStart, nameEnd, 'connection')) {
        if (!named(d, valueStart, valueEnd, 'keep-alive')) return -1;
      } else hop = false;
    } else if (c === 107 /* k */) hop = named(d, nameStart, nameEnd, 'keep-alive');
    else if (c === 116 /* t */) hop = named(d, nameStart, nameEnd, 'te') || named(d, nameStart, nameEnd, 'trailer');
    else if (c === 112 /* p */) hop = named(d, nameStart, nameEnd, 'proxy-authenticate') || named(d, nameStart, nameEnd, 'proxy-authorization');
    if (hop) {
      // not copied through: the run ends here
    } else if (nameStart === runEnd) {
      runEnd = i;
      keptRuns[runs * 2 - 1] = i;
    } else {
      keptRuns[runs * 2] = nameStart;
      keptRuns[runs * 2 + 1] = i;
      runs++;
      runEnd = i;
    }
    if ((c === 116 /* t */ && named(d, nameStart, nameEnd, 'transfer-encoding')) || (c === 117 /* u */ && named(d, nameStart, nameEnd, 'upgrade'))
      || (c === 112 /* p */ && named(d, nameStart, nameEnd, 'proxy-connection')) || (c === 101 /* e */ && named(d, nameStart, nameEnd, 'expect'))) return -1;
    const k = count * 4;
    at[k] = nameStart;
    at[k + 1] = nameEnd;
    at[k + 2] = valueStart;
    at[k + 3] = valueEnd;
    count++;
  }
  scanned.count = count;
  scanned.length = length;
  scanned.spaced = spaced;
  scanned.runCount = runs;
  return i;
}

/** The last scan's fields [name, value, …] as slices of `head` (the head's bytes as one latin1 string). */
export function fieldStrings(head: string): string[] {
  const end = scanned.count * 4;
  // pushed, not preallocated: `new Array(n)` makes a holey array, and the code that reads
  // fields (describeRequest, describeResponse) was optimised for llhttp's packed ones
  const fields: string[] = [];
  for (let k = 0; k < end; k += 4) fields.push(head.slice(at[k], at[k + 1]), head.slice(at[k + 2], at[k + 3]));
  return fields;
}
