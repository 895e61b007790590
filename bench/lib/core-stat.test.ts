import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCoreTimes } from './core-stat.ts';

const STAT = `cpu  8501650 127360 1542049 7252816 10422 0 166712 27600 0 0
cpu0 4393238 52052 793537 3494278 1401 0 69216 13056 0 0
cpu1 4108411 75307 748512 3758537 9021 0 97495 14543 0 0
intr 1 2 3
`;

test("a core's busy time is user + nice + system + irq + softirq, steal apart, in ns (100 ticks/s)", () => {
  assert.deepEqual(parseCoreTimes(STAT, '1'), { busyNs: (4108411 + 75307 + 748512 + 0 + 97495) * 1e7, stealNs: 14543 * 1e7 });
  assert.deepEqual(parseCoreTimes(STAT, '0'), { busyNs: (4393238 + 52052 + 793537 + 69216) * 1e7, stealNs: 13056 * 1e7 });
});

test('a core the file does not list, or a line cut short, gives null', () => {
  assert.equal(parseCoreTimes(STAT, '2'), null);
  assert.equal(parseCoreTimes('cpu1 1 2 3\n', '1'), null);
});
