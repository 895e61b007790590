// The traceparent header per W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header):
// what the fast check (`canonicalTraceparentFlag`: the exact form this hop writes, forwarded as
// received when unsampled) and the full parser (`extract`) accept, over valid and invalid headers,
// and what a hop sends on for each. Lowercase hex only; version ff is invalid; all-zero IDs are
// invalid; version 00 is exactly 55 characters; a later version may carry more fields after a
// dash, read as version 00's and sent on as version 00.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalTraceparentFlag, extract } from './propagation.ts';

const ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

// [header, canonical flag (-1: not the canonical form), parsed: [sampled] or null (invalid: the hop restarts the trace)]
const CASES: [string, string, number, [boolean] | null][] = [
  ['unsampled', `00-${ID}-${SPAN}-00`, 0, [false]],
  ['sampled', `00-${ID}-${SPAN}-01`, 1, [true]],
  ['other flags, sampled bit clear', `00-${ID}-${SPAN}-02`, -1, [false]],
  ['other flags, sampled bit set', `00-${ID}-${SPAN}-03`, -1, [true]],
  ['flags ff', `00-${ID}-${SPAN}-ff`, -1, [true]],
  ['uppercase trace ID', `00-${ID.toUpperCase()}-${SPAN}-01`, -1, null],
  ['uppercase span ID', `00-${ID}-${SPAN.toUpperCase()}-01`, -1, null],
  ['uppercase flags', `00-${ID}-${SPAN}-0A`, -1, null],
  ['uppercase version', `0A-${ID}-${SPAN}-01`, -1, null],
  ['version ff', `ff-${ID}-${SPAN}-01`, -1, null],
  ['all-zero trace ID', `00-${'0'.repeat(32)}-${SPAN}-01`, -1, null],
  ['all-zero span ID', `00-${ID}-${'0'.repeat(16)}-01`, -1, null],
  ['future version, same length', `01-${ID}-${SPAN}-01`, -1, [true]],
  ['future version, extra fields', `cc-${ID}-${SPAN}-00-what-the-future-holds`, -1, [false]],
  ['future version, extra fields, sampled', `02-${ID}-${SPAN}-01-x`, -1, [true]],
  ['future version, extra characters without a dash', `01-${ID}-${SPAN}-01x`, -1, null],
  ['version 00 with extra fields', `00-${ID}-${SPAN}-01-extra`, -1, null],
  ['version 00, one character more', `00-${ID}-${SPAN}-010`, -1, null],
  ['too short', `00-${ID}-${SPAN}-0`, -1, null],
  ['trace ID one short', `00-${ID.slice(1)}-${SPAN}-01`, -1, null],
  ['non-hex in the trace ID', `00-${ID.slice(1)}g-${SPAN}-01`, -1, null],
  ['non-ASCII whose low bits read as a digit', `00-${ID.slice(1)}\u0130-${SPAN}-01`, -1, null],
  ['non-ASCII in the span ID', `00-${ID}-${SPAN.slice(1)}\u0161-01`, -1, null],
  ['wrong separator', `00-${ID}_${SPAN}-01`, -1, null],
  ['surrounding spaces (trimmed by the full parser)', ` 00-${ID}-${SPAN}-01 `, -1, [true]],
  ['empty', '', -1, null],
];

describe('traceparent: the fast check and the full parser', () => {
  for (const [name, header, flag, parsed] of CASES) {
    test(name, () => {
      assert.equal(canonicalTraceparentFlag(header), flag, 'fast check');
      const parent = extract({ traceparent: header }).parent;
      if (parsed === null) assert.equal(parent, null, 'invalid: no parent');
      else {
        assert.ok(parent, 'valid: a parent');
        assert.equal(parent.traceId, ID);
        assert.equal(parent.spanId, SPAN);
        assert.equal((parent.traceFlags & 1) === 1, parsed[0], 'sampled bit');
        assert.equal(parent.isRemote, true);
      }
      // the fast check never accepts what the full parser refuses, and reads the same flag
      if (flag >= 0) assert.equal(parent && (parent.traceFlags & 1), flag);
    });
  }
});
