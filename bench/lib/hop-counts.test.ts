import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countLineup, countsTable, inclusiveOf, parseStraceSummary, perRequest, voluntarySwitches } from './hop-counts.ts';

// strace 6.1's `-c -f` summary, as written to -o (a Node proxy over 1 000 requests)
const SUMMARY = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 41.20    0.021335          10      2002           write
 30.11    0.015596           7      2004           read
 20.02    0.010371           5      2010           epoll_pwait
  4.50    0.002330          23       100        12 futex
  2.10    0.001087          10       100           epoll_ctl
  1.07    0.000554          55        10           mprotect
  1.00    0.000517          51        10         2 recvfrom
------ ----------- ----------- --------- --------- ----------------
100.00    0.051790           8      6236        14 total
`;

test('strace -c: calls per syscall, errors column or not, the total left out', () => {
  const m = parseStraceSummary(SUMMARY);
  assert.deepEqual([...m], [['write', 2002], ['read', 2004], ['epoll_pwait', 2010], ['futex', 100], ['epoll_ctl', 100], ['mprotect', 10], ['recvfrom', 10]]);
  assert.equal(parseStraceSummary('strace: Process 12 attached\n').size, 0);
});

test('per request by kind: reads and writes of any flavour, one turn per epoll wait, the rest apart', () => {
  const c = perRequest(parseStraceSummary(SUMMARY), 1000);
  assert.equal(c.reads, 2.014);
  assert.equal(c.writes, 2.002);
  assert.equal(c.turns, 2.01);
  assert.equal(c.epollCtl, 0.1);
  assert.equal(c.futex, 0.1);
  assert.equal(c.other, 0.01);
  assert.ok(Math.abs(c.total - 6.236) < 1e-9);
  assert.equal(c.byName.mprotect, 0.01);
});

test('the table: a row per process with its instructions, an unavailable configuration with its reason', () => {
  const counts = perRequest(parseStraceSummary(SUMMARY), 1000);
  const lines = countsTable([
    { config: 'node-l4-pipe', label: 'Node L4 pipe (no HTTP), 1 hop', hops: 1, process: 'node L4 pipe', syscalls: counts, wakeups: 1.995, instructionsK: [30.5, 31.5], socketK: [25, 26] },
    { config: 'haproxy', label: 'haproxy, 1 hop', hops: 1, process: '', syscalls: null, wakeups: NaN, instructionsK: [], socketK: [], note: 'not installed' },
  ]);
  assert.equal(lines[2], '| Node L4 pipe (no HTTP), 1 hop | node L4 pipe | 2.01 | 2.00 | 2.01 | 2.00 | 0.10 | 0.10 | 0.01 | 6.24 | 31.0 [30.5, 31.5] | 25.5 [25.0, 26.0] |');
  assert.match(lines[3]!, /^\| haproxy, 1 hop \| \| not available: not installed/);
  assert.match(lines.at(-1)!, /node-l4-pipe\/node L4 pipe: mprotect 0\.01/);
});

test('wake-ups: the main thread\'s voluntary switches from its status file', () => {
  assert.equal(voluntarySwitches('Name:\tnode\nvoluntary_ctxt_switches:\t4711\nnonvoluntary_ctxt_switches:\t12\n'), 4711);
  assert.ok(Number.isNaN(voluntarySwitches('Name:\tnode\n')));
});

test('inclusive counts from callgrind_annotate: the function\'s own line, not its recursive one', () => {
  const out = [
    '51,049,503 (99.95%)  /build/deps/uv/src/unix/core.c:uv_run [/usr/bin/node]',
    '27,070,654 (53.00%)  /build/deps/uv/src/unix/stream.c:uv__stream_io [/usr/bin/node]',
    ' 1,000 ( 0.01%)  /build/deps/uv/src/unix/stream.c:uv__stream_io\'2 [/usr/bin/node]',
  ].join('\n');
  assert.equal(inclusiveOf(out, 'uv__stream_io'), 27_070_654);
  assert.equal(inclusiveOf(out, 'uv_run'), 51_049_503);
  assert.ok(Number.isNaN(inclusiveOf(out, 'uv__run_timers')));
});

test('the lineup: both sidecar pairs, mTLS among them, in a fixed order; --only narrows it and rejects an id counts does not measure', () => {
  const known = ['meshlet-sidecars-mtls', 'direct', 'nginx', 'meshlet-ingress', 'node-floor', 'meshlet-sidecars', 'node-l4-pipe'].map((id) => ({ id }));
  assert.deepEqual(countLineup(known).map((c) => c.id), ['nginx', 'node-l4-pipe', 'node-floor', 'meshlet-ingress', 'meshlet-sidecars', 'meshlet-sidecars-mtls']);
  assert.deepEqual(countLineup(known, ['meshlet-sidecars-mtls', 'meshlet-sidecars']).map((c) => c.id), ['nginx', 'node-l4-pipe', 'meshlet-sidecars', 'meshlet-sidecars-mtls'], 'the references stay');
  assert.throws(() => countLineup(known, ['direct']), /--only direct: not measured by counts/);
});
