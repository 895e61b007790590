// The common upstream answer read without llhttp (issue 16's response direction): a whole
// HTTP/1.1 response in one read, a plain head and a Content-Length body below the bypass size,
// ending exactly where the read ends. Through Node's llhttp binding such a response costs ~18 k
// instructions besides our own work (two C++ → JS callbacks, each with its async-context scope,
// the field strings and array built in C++, the parse itself); scanned here, a few. Anything
// this scanner is not certain of (another version, 1xx/204/304, no or repeated Content-Length,
// Transfer-Encoding, Upgrade, a Connection field other than `keep-alive`, obs-fold, bare CR or
// LF, control or non-ASCII bytes, Expect, whitespace before a colon or after a value, an empty reason
// or value, a head over 16 KB, a split or over-long read) returns null and the bytes go to
// llhttp unchanged, so what it accepts is a strict subset of what llhttp accepts, read the same
// way (response-quick.test.ts compares the two on seeded mutations). The field lines are read by
// quick-scan.ts, shared with the request scan (request-quick.ts).
import { CR, fieldStrings, HEAD_LIMIT, keptRuns, latin1, LF, PLAIN, scanFields, scanned, SP } from './quick-scan.ts';

/** What the scan read: valid until the next call (one object, reused). */
export interface QuickResponse {
  status: number;
  reason: string;
  /** [name, value, …] as received, leading whitespace of values dropped (as llhttp reports them). */
  fields: string[];
  /** Offset of the body in the read, and its length (the Content-Length). */
  bodyStart: number;
  bodyLength: number;
  /**
   * The end-to-end field lines' places in the read ([start, end, …], `runCount` runs of whole
   * lines, the hop-by-hop and framing lines left out as describeResponse leaves them out; the
   * scan's reused array), when every line is `name: value`; else null (the head is written from the strings).
   */
  runs: Int32Array | null;
  runCount: number;
}

const out: QuickResponse = { status: 0, reason: '', fields: [], bodyStart: 0, bodyLength: 0, runs: null, runCount: 0 };

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
  i = scanFields(d, i + 2, limit);
  if (i < 0) return null;
  const length = scanned.length;
  if (length < 0 || length >= maxBody || i + length !== n) return null;
  const head = latin1(d, 0, i);
  out.status = status;
  out.reason = head.slice(13, reasonEnd);
  out.fields = fieldStrings(head);
  out.bodyStart = i;
  out.bodyLength = length;
  out.runs = scanned.spaced ? keptRuns : null;
  out.runCount = scanned.runCount;
  return out;
}
