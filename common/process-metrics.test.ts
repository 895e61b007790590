import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { GC_BUCKETS, GcDurations, processMetrics } from './process-metrics.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (opts: object) => void;

/** A sample of the histogram's text, by its name suffix and labels, e.g. ('count', 'kind="major"'). */
function sample(text: string, suffix: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`nodejs_gc_duration_seconds_${suffix}{${labels}} `));
  assert.ok(line, `no nodejs_gc_duration_seconds_${suffix}{${labels}} in:\n${text}`);
  return Number(line.split(' ')[1]);
}

/** Waits (at most 2 s, bounded polls) for the observer's callback, which runs after the collection. */
async function eventually(fn: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !fn(); i++) await sleep(20);
  return fn();
}

test('a forced major and a forced minor collection land in the histogram under their kinds', async () => {
  const d = new GcDurations().start();
  try {
    const before = d.text();
    assert.equal(sample(before, 'count', 'kind="major"'), 0);
    gc({ type: 'major' });
    assert.ok(await eventually(() => sample(d.text(), 'count', 'kind="major"') >= 1), d.text());
    const minors = sample(d.text(), 'count', 'kind="minor"');
    gc({ type: 'minor' });
    assert.ok(await eventually(() => sample(d.text(), 'count', 'kind="minor"') > minors), d.text());
    const text = d.text();
    assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
    for (const kind of ['major', 'minor']) {
      const count = sample(text, 'count', `kind="${kind}"`);
      assert.equal(sample(text, 'bucket', `le="+Inf",kind="${kind}"`), count);
      // cumulative buckets: never decreasing, never above the count
      const buckets = GC_BUCKETS.map((le) => sample(text, 'bucket', `le="${le}",kind="${kind}"`));
      buckets.forEach((b, i) => assert.ok(b >= (buckets[i - 1] ?? 0) && b <= count, text));
      assert.ok(sample(text, 'sum', `kind="${kind}"`) > 0, text);
    }
    assert.ok(d.totalSeconds > 0);
  } finally {
    d.stop();
  }
});

test('durations go to the first bucket that holds them; a stopped histogram counts nothing more', async () => {
  const d = new GcDurations();
  d.observe({ duration: 0.5, detail: { kind: 4 } }); // 0.5 ms major
  d.observe({ duration: 1500, detail: { kind: 8 } }); // 1.5 s incremental
  d.observe({ duration: 3, detail: { kind: 99 } }); // a kind V8 may add later: not counted under another's name
  const text = d.text();
  assert.equal(sample(text, 'bucket', 'le="0.001",kind="major"'), 1);
  assert.equal(sample(text, 'bucket', 'le="1",kind="incremental"'), 0);
  assert.equal(sample(text, 'bucket', 'le="2",kind="incremental"'), 1);
  assert.equal(sample(text, 'count', 'kind="minor"') + sample(text, 'count', 'kind="weakcb"'), 0);
  assert.equal(d.totalSeconds, 1.5005);
  d.start().stop();
  gc({ type: 'major' });
  await sleep(100);
  assert.equal(sample(d.text(), 'count', 'kind="major"'), 1);
});

test("the process's metrics carry the GC histogram of the process, which saw collections since load", async () => {
  gc({ type: 'major' });
  await sleep(50);
  const text = processMetrics();
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
  assert.ok(sample(text, 'count', 'kind="major"') >= 1, text);
});
