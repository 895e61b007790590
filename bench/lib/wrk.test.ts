import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrk } from './wrk.ts';

const SAMPLE = `Running 2s test @ http://127.0.0.1:40000/echo/12
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   210.00us  100.00us   2.10ms   90.00%
    Req/Sec   180.00     10.00   190.00     80.00%
  Latency Distribution
     50%  188.00us
     75%  262.00us
     90%    1.49ms
     99%    4.17s
  360 requests in 2.00s, 50.00KB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:    179.50
Transfer/sec:     25.00KB
`;

test('parses wrk --latency output into µs, rps and errors', () => {
  const r = parseWrk(SAMPLE);
  assert.deepEqual(r.latencyUs, { p50: 188, p75: 262, p90: 1490, p99: 4_170_000 });
  assert.equal(r.rps, 179.5);
  assert.equal(r.requests, 360);
  assert.equal(r.errors, 7);
});

test('missing figures are NaN, not zero', () => {
  const r = parseWrk('unable to connect to 127.0.0.1:1 Connection refused');
  assert.ok(Number.isNaN(r.rps));
  assert.ok(Number.isNaN(r.latencyUs.p50));
});
