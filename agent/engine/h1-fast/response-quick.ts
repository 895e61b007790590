// The common upstream answer read without llhttp (issue 16's response direction): a whole
// HTTP/1.1 response in one read, a plain head and a Content-Length body below the bypass size,
// ending exactly where the read ends. Through Node's llhttp binding such a response costs ~18 k
// instructions besides our own work (two C++ → JS callbacks, each with its async-context scope,
// the field strings and array built in C++, the parse itself); scanned here, a few. Anything
// this scanner is not certain of (another version, 1xx/204/304, no or repeated Content-Length,
// Transfer-Encoding, Upgrade, a Connection field other than `keep-alive`, obs-fold, bare CR or
// LF, control or non-ASCII bytes, whitespace before a colon or after a value, an empty reason
// or value, a head over 16 KB, a split or over-long read) returns null and the bytes go to
// llhttp unchanged, so what it accepts is a strict subset of what llhttp accepts, read the same
// way (response-quick.test.ts compares the two on seeded mutations).

/** What the scan read: valid until the next call (one object, reused). */
export interface QuickResponse {
  status: number;
  reason: string;
  /** [name, value, …] as received, leading whitespace of values dropped (as llhttp reports them). */
  fields: string[];
  /** Offset of the body in the read, and its length (the Content-Length). */
  bodyStart: number;
  bodyLength: number;
}

const out: QuickResponse = { status: 0, reason: '', fields: [], bodyStart: 0, bodyLength: 0 };

/** node:http's head limit, which the llhttp parser applies too. */
const HEAD_LIMIT = 16 * 1024;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** RFC 9110 tchar, by byte. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;
/** A byte of a reason phrase or field value this scanner accepts: VCHAR, SP, HTAB (no obs-text, no controls). */
const PLAIN = new Uint8Array(256);
for (let b = SP; b < 127; b++) PLAIN[b] = 1;
PLAIN[HTAB] = 1;

/** Fields one head may have here (more: llhttp reads it). */
const MAX_FIELDS = 64;
/** Per field: where its name starts and ends, where its value starts and ends (reused). */
const at = new Int32Array(MAX_FIELDS * 4);

/** Buffer's own latin1 slice (what `toString('latin1', a, b)` calls after checking its arguments). */
const latin1 = (d: Buffer, start: number, end: number): string => (d as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);

/** The bytes d[start, start + lower.length) are `lower` (lower-case letters and '-') in any case. */
function named(d: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) if ((d[start + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/**
 * The response in `d` when it is a whole plain HTTP/1.1 Content-Length response that ends
 * where `d` ends, with a body shorter than `maxBody`; else null (llhttp reads it). The bytes
 * are checked first, then the head becomes one string and its parts slices of it (one call
 * into Buffer's C++ per response, not one per field).
 */
export function quickResponse(d: Buffer, maxBody: number): QuickResponse | null {
  const n = d.length;
  // "HTTP/1.1 ddd "
  if (n < 17 || d[0] !== 72 || d[1] !== 84 || d[2] !== 84 || d[3] !== 80 || d[4] !== 47 || d[5] !== 49 || d[6] !== 46 || d[7] !== 49 || d[8] !== SP || d[12] !== SP) return null;
  const s0 = d[9]! - 48;
  const s1 = d[10]! - 48;
  const s2 = d[11]! - 48;
  if (s0 < 2 || s0 > 5 || s1 < 0 || s1 > 9 || s2 < 0 || s2 > 9) return null;
  const status = s0 * 100 + s1 * 10 + s2;
  if (status === 204 || status === 304) return null;
  const limit = n < HEAD_LIMIT ? n : HEAD_LIMIT;
  let i = 13;
  while (i < limit && PLAIN[d[i]!] === 1) i++;
  if (i === 13 || i + 1 >= limit || d[i] !== CR || d[i + 1] !== LF) return null;
  const reasonEnd = i;
  i += 2;
  let count = 0;
  let length = -1;
  for (;;) {
    if (i + 1 >= limit) return null;
    if (d[i] === CR) {
      if (d[i + 1] !== LF) return null;
      i += 2;
      break;
    }
    if (count === MAX_FIELDS) return null;
    const nameStart = i;
    while (i < limit && TOKEN[d[i]!] === 1) i++;
    const nameEnd = i;
    if (i === nameStart || i >= limit || d[i] !== COLON) return null;
    i++;
    while (i < limit && (d[i] === SP || d[i] === HTAB)) i++;
    const valueStart = i;
    while (i < limit && PLAIN[d[i]!] === 1) i++;
    if (i === valueStart || i + 1 >= limit || d[i] !== CR || d[i + 1] !== LF) return null;
    const last = d[i - 1];
    if (last === SP || last === HTAB) return null;
    const valueEnd = i;
    i += 2;
    // the fields llhttp reads for framing and the connection: only their plainest forms here
    const c = d[nameStart]! | 0x20;
    if (c === 99 /* c */) {
      if (named(d, nameStart, nameEnd, 'content-length')) {
        if (length >= 0 || valueEnd - valueStart > 15) return null;
        length = 0;
        for (let k = valueStart; k < valueEnd; k++) {
          const b = d[k]! - 48;
          if (b < 0 || b > 9) return null;
          length = length * 10 + b;
        }
      } else if (named(d, nameStart, nameEnd, 'connection') && !named(d, valueStart, valueEnd, 'keep-alive')) return null;
    } else if ((c === 116 /* t */ && named(d, nameStart, nameEnd, 'transfer-encoding')) || (c === 117 /* u */ && named(d, nameStart, nameEnd, 'upgrade'))
      || (c === 112 /* p */ && named(d, nameStart, nameEnd, 'proxy-connection'))) return null;
    const k = count * 4;
    at[k] = nameStart;
    at[k + 1] = nameEnd;
    at[k + 2] = valueStart;
    at[k + 3] = valueEnd;
    count++;
  }
  if (length < 0 || length >= maxBody || i + length !== n) return null;
  const head = latin1(d, 0, i);
  const fields: string[] = new Array<string>(count * 2);
  for (let f = 0; f < count; f++) {
    const k = f * 4;
    fields[f * 2] = head.slice(at[k], at[k + 1]);
    fields[f * 2 + 1] = head.slice(at[k + 2], at[k + 3]);
  }
  out.status = status;
  out.reason = head.slice(13, reasonEnd);
  out.fields = fields;
  out.bodyStart = i;
  out.bodyLength = length;
  return out;
}
