import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDistinctPaths, requestPath, SINGLE_PATH } from './distinct-paths.ts';

test('one distinct path is the bench\'s single path for every request', () => {
  for (let i = 0; i < 10; i++) assert.equal(requestPath(i, 1), SINGLE_PATH);
  assert.equal(parseDistinctPaths(undefined), 1);
});

test('N distinct paths: each N consecutive requests go to N different paths, then the cycle repeats', () => {
  for (const n of [2, 5, 64]) {
    const paths = Array.from({ length: 2 * n }, (_, i) => requestPath(i, n));
    assert.equal(new Set(paths.slice(0, n)).size, n, `n=${n}`);
    assert.equal(new Set(paths).size, n, `n=${n}`);
    for (let i = 0; i < n; i++) assert.equal(paths[i + n], paths[i]);
    // Every path is under the single path's prefix, so the bench's PathPrefix "/" rule routes it.
    for (const p of paths) assert.ok(p.startsWith(`${SINGLE_PATH}/`), p);
  }
});

test('more than four distinct paths: no request repeats any of the four before it (the tracer keeps four blocks)', () => {
  const paths = Array.from({ length: 128 }, (_, i) => requestPath(i, 64));
  for (let i = 4; i < paths.length; i++) assert.ok(!paths.slice(i - 4, i).includes(paths[i]!), `request ${i}`);
});

test('--distinct-paths rejects what is not a whole number from 1 up', () => {
  assert.equal(parseDistinctPaths('64'), 64);
  for (const bad of ['0', '-1', '1.5', 'x', '', '1e3']) {
    assert.throws(() => parseDistinctPaths(bad), /--distinct-paths: expected a whole number/, bad);
  }
});
