// describeResponse as the upstream side uses it: the end-to-end fields a response carries on
// (hop-by-hop ones and those the Connection field names removed, as the general path's
// stripHopByHop does — the first disagreement the upstream differential test found) and the
// framing it was received with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeResponse } from './response-head.ts';

test('fields named by Connection are hop-by-hop: dropped, in any case and across repeated Connection fields', () => {
  const cases: [string, string[], string[]][] = [
    ['named once', ['Connection', 'close, X-A', 'X-A', '1', 'X-B', '2'], ['X-B', '2']],
    ['names in other case, two Connection fields', ['connection', 'X-a', 'CONNECTION', 'x-b ,keep-alive', 'X-A', '1', 'x-B', '2', 'X-C', '3'], ['X-C', '3']],
    ['close and keep-alive alone name nothing', ['Connection', 'close', 'X-A', '1'], ['X-A', '1']],
    ['no Connection field', ['X-A', '1', 'Keep-Alive', 'timeout=5', 'Content-Length', '0'], ['X-A', '1']],
  ];
  for (const [what, raw, want] of cases) assert.deepEqual(describeResponse(200, 'OK', raw, true, 'GET').fields, want, what);
});

test('framing as received', () => {
  assert.deepEqual(describeResponse(200, 'OK', ['Content-Length', '5'], true, 'GET').framing, { kind: 'length', length: 5 });
  assert.deepEqual(describeResponse(200, 'OK', ['Transfer-Encoding', 'chunked'], true, 'GET').framing, { kind: 'chunked' });
  const untilClose = describeResponse(200, 'OK', [], true, 'GET');
  assert.deepEqual([untilClose.framing, untilClose.keepAlive], [{ kind: 'until-close' }, false]);
  assert.deepEqual(describeResponse(200, 'OK', ['Content-Length', '5'], true, 'HEAD').fields, ['content-length', '5']);
  assert.deepEqual(describeResponse(304, 'Not Modified', [], true, 'GET').framing, { kind: 'none' });
});
