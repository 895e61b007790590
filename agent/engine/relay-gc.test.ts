// The relayed-bytes meter behind the young-buffer collection (relay-gc.ts): when it collects,
// what it wraps, and that the collection it runs is a real scavenge.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { PassThrough, Readable } from 'node:stream';
import { countedBody, countPiped, createRelayGc, meteredBody, relayGc, RELAY_GC_BYTES, scavenge, SMALL_BODY_BYTES } from './relay-gc.ts';
import { relayBody } from './relay.ts';

async function collect(body: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(out);
}

describe('createRelayGc', () => {
  const cases: { name: string; every: number; notes: number[]; runs: number }[] = [
    { name: 'below the threshold: none', every: 100, notes: [40, 59], runs: 0 },
    { name: 'reaching it exactly: one', every: 100, notes: [40, 60], runs: 1 },
    { name: 'the count starts again after each', every: 100, notes: [60, 60, 60, 60], runs: 2 },
    { name: 'one chunk far over it: one, not one per threshold', every: 100, notes: [1000], runs: 1 },
    { name: 'zero-length chunks count nothing', every: 1, notes: [0, 0, 0], runs: 0 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      let collected = 0;
      const meter = createRelayGc(c.every, () => void collected++);
      for (const n of c.notes) meter.note(n);
      assert.equal(collected, c.runs);
      assert.equal(meter.runs, c.runs);
    });
  }

  test('refuses a threshold that is not positive', () => {
    for (const bad of [0, -1, Number.NaN]) assert.throws(() => createRelayGc(bad, () => undefined), RangeError);
  });
});

describe('countedBody and meteredBody', () => {
  test('countedBody passes every chunk on unchanged and counts its bytes', async () => {
    let collected = 0;
    const meter = createRelayGc(10, () => void collected++);
    const out = await collect(countedBody(Readable.from([Buffer.from('hello '), 'world', Buffer.from('!!!!!!!!!!')]), meter));
    assert.equal(out.toString(), 'hello world!!!!!!!!!!');
    assert.equal(collected, 2);
  });

  test('a body announced below SMALL_BODY_BYTES is passed as it is; a larger or unannounced one is counted', async () => {
    const meter = createRelayGc(1, () => undefined);
    const small = new PassThrough();
    assert.equal(meteredBody(small, String(SMALL_BODY_BYTES - 1), meter), small);
    for (const length of [String(SMALL_BODY_BYTES), undefined, 'abc', ['1', '2']]) {
      const body = Readable.from([Buffer.from('xyz')]);
      const wrapped = meteredBody(body, length, meter);
      assert.notEqual(wrapped, body, `content-length ${String(length)}`);
      assert.equal((await collect(wrapped)).toString(), 'xyz');
    }
    assert.equal(meter.runs, 4);
  });

  test('an error of the body reaches the consumer through the wrapper', async () => {
    const body = new PassThrough();
    const wrapped = countedBody(body, createRelayGc(1, () => undefined));
    setImmediate(() => body.destroy(new Error('client went away')));
    await assert.rejects(collect(wrapped), /client went away/);
  });
});

describe('the process meter', () => {
  test('relayBody counts what it relays: a few MB relayed run a collection', async () => {
    const before = relayGc.runs;
    const src = Readable.from((function* () {
      for (let i = 0; i < (2 * RELAY_GC_BYTES) / 65536; i++) yield Buffer.alloc(65536, 1);
    })());
    let written = 0;
    const dst = new PassThrough();
    dst.on('data', (d: Buffer) => void (written += d.length));
    await relayBody(src, dst);
    assert.equal(written, 2 * RELAY_GC_BYTES);
    assert.ok(relayGc.runs - before >= 1, `collections: ${relayGc.runs - before}`);
  });

  test('scavenge runs a minor GC on this thread, without a global gc', async () => {
    const kinds: number[] = [];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) kinds.push(((e as unknown as { detail: { kind: number } }).detail).kind);
    });
    obs.observe({ entryTypes: ['gc'] });
    scavenge();
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    assert.ok(kinds.includes(constants.NODE_PERFORMANCE_GC_MINOR), `GC kinds seen: ${kinds.join(', ')}`);
    assert.equal((globalThis as { gc?: unknown }).gc, undefined);
  });
});

describe('countPiped', () => {
  test('counts every byte a pipe carries, the first chunk included, and leaves them unchanged', async () => {
    let counted = 0;
    const meter = { note: (n: number) => void (counted += n), runs: 0 };
    const source = new PassThrough();
    const sink = new PassThrough();
    // Written before the pipe flows: the count must still see it, as the pipe does.
    source.write(Buffer.alloc(1000, 1));
    source.pipe(sink);
    countPiped(source, meter);
    source.end(Buffer.alloc(70_000, 2));
    const out = await collect(sink);
    assert.equal(out.length, 71_000);
    assert.equal(counted, 71_000);
  });
});
