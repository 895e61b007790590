import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goDurationMs, startEchoServer } from './echo-workload.ts';

test('Go durations as the conformance echo server reads ?delay=', () => {
  const cases: [string, number][] = [['1s', 1000], ['500ms', 500], ['1m30s', 90_000], ['1.5s', 1500], ['250us', 0.25], ['', 0], ['1x', 0], ['s', 0], ['10', 0]];
  for (const [text, ms] of cases) assert.equal(goDurationMs(text), ms, text);
});

test('?delay= holds the answer back, and the JSON names the pod', async () => {
  const echo = await startEchoServer({ pod: 'p-1', namespace: 'ns' });
  try {
    const start = Date.now();
    const res = await fetch(`http://127.0.0.1:${echo.port}/x?delay=300ms`);
    const body = (await res.json()) as { pod: string; path: string };
    assert.ok(Date.now() - start >= 280, `answered after ${Date.now() - start} ms`);
    assert.equal(body.pod, 'p-1');
    assert.equal(body.path, '/x?delay=300ms');
  } finally {
    await echo.close();
  }
});
