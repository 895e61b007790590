// meshlet's OTLP/protobuf encoder against the SDK's: for the same span records, the same bytes
// (field numbers, order, value kinds, lengths), over the shapes meshlet's spans take (root and
// child, local and remote parent, tracestate, error status, non-ASCII and long values, batches
// large enough to grow the buffer and to need multi-byte lengths); anything else is declined,
// and the exporter's serializer then writes the SDK's bytes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, type SpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { traceSerializer } from './otlp-exporter.ts';
import { encodeTraceRequest } from './otlp-protobuf.ts';
import { SpanRecord, type SpanSink } from './span-record.ts';

const sink: SpanSink = {
  resource: resourceFromAttributes({ 'service.name': 'reviews', 'k8s.namespace.name': 'default', 'meshlet.role': 'sidecar' }),
  scope: { name: 'meshlet' },
  end: () => undefined,
};
const T0 = 1_765_000_000_000_000_000n;

function record(over: { kind?: SpanKind; name?: string; traceId?: string; spanId?: string; parent?: SpanContext | null; attrs?: SpanRecord['attributes']; error?: string | null } = {}): SpanRecord {
  const s = new SpanRecord(sink, over.kind ?? SpanKind.SERVER, over.name ?? 'GET /api', over.traceId ?? '0af7651916cd43dd8448eb211c80319c',
    over.spanId ?? 'b7ad6b7169203331', over.parent ?? null, process.hrtime.bigint());
  s.attributes = over.attrs ?? { 'http.request.method': 'GET', 'url.path': '/api/items', 'server.port': 9080, 'http.response.status_code': 200 };
  if (over.error !== undefined) s.status = { code: 2, ...(over.error === null ? {} : { message: over.error }) };
  s.endNs = s.startNs + 1_234_567n;
  return s;
}

function sdkBytes(spans: ReadableSpan[]): Buffer {
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
}

describe('encodeTraceRequest: the SDK serializer\'s bytes', () => {
  const remote: SpanContext = { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', traceFlags: 1, isRemote: true, traceState: new TraceState('vendor=x,other=y') };
  const server = record({ traceId: remote.traceId, spanId: '00f067aa0ba902b7', parent: remote });
  const cases: [string, () => SpanRecord[]][] = [
    ['a root SERVER span', () => [record()]],
    ['a CLIENT span under this hop\'s SERVER span', () => [server, record({ kind: SpanKind.CLIENT, traceId: server.traceId, spanId: '53995c3f42cd8ad8', parent: server })]],
    ['a remote parent with tracestate', () => [server]],
    ['every attribute kind: string, integer, zero, boolean, double, empty string', () => [record({ attrs: { s: 'x', i: 9080, z: 0, b: true, f: false, d: 0.25, e: '' } })]],
    ['error status with and without a message', () => [record({ error: 'upstream_connect' }), record({ error: null })]],
    ['non-ASCII values and keys', () => [record({ name: 'GET /café', attrs: { 'user_agent.original': 'naïve/1 ☃ 𝄞', 'ключ': 'значение' } })]],
    ['values of 127, 128 and 20 000 characters (one-, two- and three-byte lengths)', () => [record({ attrs: { a: 'a'.repeat(127), b: 'b'.repeat(128), c: 'c'.repeat(20_000) } })]],
    ['uppercase hex IDs (B3 allows them)', () => [record({ traceId: '80F198EE56343BA864FE8B2A57D3EFF7', spanId: 'E457B5A2E4D86BD1' })]],
    ['a batch of 600 spans (the buffer grows; the scope\'s length needs three bytes)', () => Array.from({ length: 600 }, (_, i) => record({ spanId: (0x1000000000000n + BigInt(i)).toString(16).padStart(16, '0'), attrs: { 'meshlet.retry.attempt': i, 'url.path': `/api/${i}` } }))],
  ];
  for (const [name, spans] of cases) {
    test(name, () => {
      const batch = spans();
      const ours = encodeTraceRequest(batch);
      assert.ok(ours, 'encoded');
      assert.deepEqual(Buffer.from(ours), sdkBytes(batch));
    });
  }

  test('times: the events\' hrtime stamps as Unix nanoseconds, as the SDK reads startTime/endTime', () => {
    const s = record();
    const start = BigInt(s.startTime[0]) * 1_000_000_000n + BigInt(s.startTime[1]);
    assert.ok(start > T0 / 10n, 'a Unix time, not a monotonic one');
    assert.deepEqual(Buffer.from(encodeTraceRequest([s])!), sdkBytes([s]));
  });
});

/** The same span as a plain ReadableSpan object. */
function plain(r: SpanRecord): ReadableSpan {
  return {
    name: r.name, kind: r.kind, spanContext: () => r, parentSpanContext: r.parentSpanContext, startTime: r.startTime, endTime: r.endTime,
    status: r.status, attributes: r.attributes, links: [], events: [], duration: r.duration, ended: true, resource: r.resource,
    instrumentationScope: r.instrumentationScope, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
  };
}

describe('encodeTraceRequest: declined, and the SDK\'s serializer used instead', () => {
  const other: SpanSink = { ...sink, resource: resourceFromAttributes({ 'service.name': 'other' }) };
  const cases: [string, () => ReadableSpan[]][] = [
    ['a span that is not a record (the SDK\'s own, say)', () => [plain(record())]],
    ['a negative integer attribute', () => [record({ attrs: { n: -1 } })]],
    ['an array attribute', () => [record({ attrs: { list: ['a', 'b'] } as unknown as SpanRecord['attributes'] })]],
    ['spans from two resources', () => [record(), new SpanRecord(other, SpanKind.SERVER, 'GET', '0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203332', null, 1n)]],
    ['an ID that is not hex', () => [record({ spanId: 'b7ad6b716920333z' })]],
  ];
  for (const [name, spans] of cases) {
    test(name, () => {
      const batch = spans();
      assert.equal(encodeTraceRequest(batch), null);
      assert.deepEqual(Buffer.from(traceSerializer.serializeRequest(batch)!), sdkBytes(batch));
    });
  }
});
