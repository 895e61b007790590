// The protobuf export queue's rules, with an exporter that records what it is handed: a full
// batch goes at once and a partial one after the delay, one export at a time, a full queue
// drops (and says so) instead of waiting, a stuck export is given up after its timeout, and
// shutdown sends what is left. The batches are the encoder's bytes for the spans they hold.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { batchFraming, encodeTraceRequest } from './otlp-protobuf.ts';
import { startSpanQueue, type EncodedBatch, type SpanQueueOptions } from './span-queue.ts';
import { SpanRecord, type SpanSink } from './span-record.ts';

const sink: SpanSink = { resource: resourceFromAttributes({ 'service.name': 'reviews' }), scope: { name: 'meshlet' }, end: () => undefined };

function span(i: number): SpanRecord {
  const s = new SpanRecord(sink, SpanKind.SERVER, `GET /${i}`, '0af7651916cd43dd8448eb211c80319c', (0x1000n + BigInt(i)).toString(16).padStart(16, '0'), null, 1_000n + BigInt(i));
  s.attributes = { 'url.path': `/${i}` };
  s.endNs = s.startNs + 10n;
  return s;
}

interface Recorder {
  batches: EncodedBatch[];
  /** Callbacks of exports not answered yet (answer: 'hold'). */
  pending: ((r: ExportResult) => void)[];
  shutdowns: number;
}

function queueWith(answer: 'ok' | 'hold', over: Partial<SpanQueueOptions> = {}): { q: ReturnType<typeof startSpanQueue>; rec: Recorder } {
  const rec: Recorder = { batches: [], pending: [], shutdowns: 0 };
  const q = startSpanQueue({
    framing: batchFraming(sink.resource, sink.scope), maxQueue: 8, batchSize: 3, delayMs: 60_000, exportTimeoutMs: 60_000,
    exporter: {
      export: (b, done) => { rec.batches.push(b); if (answer === 'ok') done({ code: ExportResultCode.SUCCESS }); else rec.pending.push(done); },
      shutdown: () => { rec.shutdowns++; return Promise.resolve(); },
    },
    ...over,
  });
  return { q, rec };
}

/** Whether two byte views share memory (small buffers come from Buffer's shared pool: the same ArrayBuffer is not enough). */
function overlap(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('span queue (http/protobuf)', () => {
  test('a full batch is exported at once, as the encoder\'s bytes for its spans', async () => {
    const { q, rec } = queueWith('ok');
    const spans = [span(1), span(2), span(3)];
    for (const s of spans) assert.equal(q.add(s), true);
    assert.equal(rec.batches.length, 1);
    assert.equal(rec.batches[0]!.count, 3);
    assert.deepEqual(Buffer.from(rec.batches[0]!.bytes), Buffer.from(encodeTraceRequest(spans)!));
    await tick();
    assert.equal(q.queued(), 0);
    await q.shutdown();
  });

  test('a partial batch waits for the delay, then goes', async () => {
    const { q, rec } = queueWith('ok', { delayMs: 30 });
    q.add(span(1));
    assert.equal(rec.batches.length, 0);
    for (let i = 0; i < 100 && rec.batches.length === 0; i++) await tick(10);
    assert.equal(rec.batches.length, 1);
    assert.deepEqual(Buffer.from(rec.batches[0]!.bytes), Buffer.from(encodeTraceRequest([span(1)])!));
    await q.shutdown();
  });

  test('one export at a time; a full queue drops instead of waiting, and takes spans again once an export is done', async () => {
    const { q, rec } = queueWith('hold');
    const added = Array.from({ length: 14 }, (_, i) => q.add(span(i)));
    // 3 in the export in flight, then 8 queued (the bound), the last 3 dropped.
    assert.deepEqual(added, [...Array<boolean>(11).fill(true), false, false, false]);
    assert.equal(rec.batches.length, 1);
    assert.equal(q.queued(), 8);
    rec.pending.shift()!({ code: ExportResultCode.SUCCESS });
    await tick();
    assert.equal(rec.batches.length, 2, 'the next full batch goes when the first is done');
    assert.deepEqual(rec.batches.map((b) => b.count), [3, 3]);
    assert.equal(q.add(span(20)), true);
    rec.pending.shift()!({ code: ExportResultCode.FAILED, error: new Error('refused') });
    await tick();
    assert.equal(rec.batches.length, 3, 'a failed export does not stop the queue');
    rec.pending.shift()!({ code: ExportResultCode.SUCCESS });
    await tick();
    assert.equal(rec.batches.length, 4, 'the batch that span 20 filled');
    q.add(span(21));
    // shutdown: the partial batch left goes out too, then the exporter is shut down.
    const shut = q.shutdown();
    for (let i = 0; i < 100 && rec.pending.length < 2; i++) await tick(1);
    for (const done of rec.pending.splice(0)) done({ code: ExportResultCode.SUCCESS });
    await shut;
    assert.deepEqual(rec.batches.map((b) => b.count), [3, 3, 3, 3, 1]);
    assert.equal(rec.shutdowns, 1);
    assert.equal(q.add(span(30)), false, 'nothing is taken after shutdown');
  });

  test('shutdown sends every batch left at once, so a collector that never answers costs one export timeout, not one per batch', async () => {
    const { q, rec } = queueWith('hold', { exportTimeoutMs: 60_000, maxQueue: 12 });
    for (let i = 0; i < 10; i++) q.add(span(i));
    // one full batch in flight; two more full and one partial (1 span) left in the queue
    assert.equal(rec.batches.length, 1);
    const shut = q.shutdown();
    await tick();
    assert.deepEqual(rec.batches.map((b) => b.count), [3, 3, 3, 1], 'all left in flight before any answered');
    for (const done of rec.pending.splice(0)) done({ code: ExportResultCode.SUCCESS });
    await shut;
    assert.equal(rec.shutdowns, 1);
  });

  test('an export that never answers is given up after its timeout and the queue moves on', async () => {
    const { q, rec } = queueWith('hold', { exportTimeoutMs: 30 });
    for (let i = 0; i < 6; i++) q.add(span(i));
    assert.equal(rec.batches.length, 1);
    for (let i = 0; i < 100 && rec.batches.length < 2; i++) await tick(10);
    assert.equal(rec.batches.length, 2);
    for (const done of rec.pending) done({ code: ExportResultCode.SUCCESS });
    await q.shutdown();
  });

  test('a batch\'s buffer is taken by a later batch once its export answered, never while a timed-out export may still send it', async () => {
    const answered = queueWith('ok', { batchSize: 8, maxQueue: 64 });
    const spans = Array.from({ length: 16 }, (_, i) => span(i));
    const copies: Buffer[] = [];
    for (const s of spans) {
      answered.q.add(s);
      await tick();
      if (answered.rec.batches.length > copies.length) copies.push(Buffer.from(answered.rec.batches.at(-1)!.bytes));
    }
    assert.equal(answered.rec.batches.length, 2);
    // The second batch was written into the first one's buffer (after the first was answered)...
    assert.ok(overlap(answered.rec.batches[1]!.bytes, answered.rec.batches[0]!.bytes));
    // ...and each request was right when it was handed over.
    assert.deepEqual(copies, [Buffer.from(encodeTraceRequest(spans.slice(0, 8))!), Buffer.from(encodeTraceRequest(spans.slice(8))!)]);
    await answered.q.shutdown();

    const stuck = queueWith('hold', { exportTimeoutMs: 20, batchSize: 8, maxQueue: 64 });
    for (let i = 0; i < 8; i++) stuck.q.add(span(i));
    await tick(60); // past the first export's timeout
    // The transport answers late: the queue had given up on it, so its buffer is not taken.
    stuck.rec.pending.shift()!({ code: ExportResultCode.SUCCESS });
    for (let i = 8; i < 16; i++) stuck.q.add(span(i));
    assert.equal(stuck.rec.batches.length, 2);
    assert.ok(!overlap(stuck.rec.batches[1]!.bytes, stuck.rec.batches[0]!.bytes));
    for (const done of stuck.rec.pending.splice(0)) done({ code: ExportResultCode.SUCCESS });
    await stuck.q.shutdown();
  });
});
