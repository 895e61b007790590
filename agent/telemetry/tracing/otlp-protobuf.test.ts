// meshlet's OTLP/protobuf encoder against the SDK's: for the same span records, the same bytes
// (field numbers, order, value kinds, lengths), over the shapes meshlet's spans take (root and
// child, local and remote parent, tracestate, error status, non-ASCII and long values, batches
// large enough to grow the buffer and to need multi-byte lengths), with attributes given as an
// object and, as the tracer records them, read from the request's and attempt's events; a batch
// filled span by span and sealed later is the same request. Anything else is declined.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, type SpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { AttemptEvent, RequestEvent } from '../events.ts';
import { batchFraming, encodeTraceRequest, SpanBatch } from './otlp-protobuf.ts';
import { SpanRecord, startSpan, type SpanSink } from './span-record.ts';
import { randomTraceId } from './ids.ts';

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

/** One test per case: our encoding of the case's spans is byte for byte the SDK serializer's. */
function sameBytesAsSdk(cases: [string, () => SpanRecord[]][]): void {
  for (const [name, spans] of cases) {
    test(name, () => {
      const batch = spans();
      const ours = encodeTraceRequest(batch);
      assert.ok(ours, 'encoded');
      assert.deepEqual(Buffer.from(ours), sdkBytes(batch));
    });
  }
}

describe('encodeTraceRequest: the SDK serializer\'s bytes', () => {
  const remote: SpanContext = { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', traceFlags: 1, isRemote: true, traceState: new TraceState('vendor=x,other=y') };
  const server = record({ traceId: remote.traceId, spanId: '00f067aa0ba902b7', parent: remote });
  const cases: [string, () => SpanRecord[]][] = [
    ['a root SERVER span', () => [record()]],
    ['a CLIENT span under this hop\'s SERVER span', () => [server, record({ kind: SpanKind.CLIENT, traceId: server.traceId, spanId: '53995c3f42cd8ad8', parent: server })]],
    ['a remote parent with tracestate', () => [server]],
    ['every attribute kind: string, integer, zero, negative, 2^60, boolean, double, NaN, empty string', () => [record({ attrs: { s: 'x', i: 9080, z: 0, n: -1, big: 2 ** 60, b: true, f: false, d: 0.25, nan: NaN, e: '' } })]],
    ['error status with and without a message', () => [record({ error: 'upstream_connect' }), record({ error: null })]],
    ['non-ASCII values and keys', () => [record({ name: 'GET /café', attrs: { 'user_agent.original': 'naïve/1 ☃ 𝄞', 'ключ': 'значение' } })]],
    ['values of 127, 128 and 20 000 characters (one-, two- and three-byte lengths)', () => [record({ attrs: { a: 'a'.repeat(127), b: 'b'.repeat(128), c: 'c'.repeat(20_000) } })]],
    ['uppercase hex IDs (B3 allows them)', () => [record({ traceId: '80F198EE56343BA864FE8B2A57D3EFF7', spanId: 'E457B5A2E4D86BD1' })]],
    ['a batch of 600 spans (the buffer grows; the scope\'s length needs three bytes)', () => Array.from({ length: 600 }, (_, i) => record({ spanId: (0x1000000000000n + BigInt(i)).toString(16).padStart(16, '0'), attrs: { 'meshlet.retry.attempt': i, 'url.path': `/api/${i}` } }))],
  ];
  sameBytesAsSdk(cases);

  test('times: the events\' hrtime stamps as Unix nanoseconds, as the SDK reads startTime/endTime', () => {
    const s = record();
    const start = BigInt(s.startTime[0]) * 1_000_000_000n + BigInt(s.startTime[1]);
    assert.ok(start > T0 / 10n, 'a Unix time, not a monotonic one');
    assert.deepEqual(Buffer.from(encodeTraceRequest([s])!), sdkBytes([s]));
  });
});

describe('spans with IDs drawn here (their bytes copied from the random pool): the SDK serializer\'s bytes', () => {
  const ended = (s: SpanRecord): SpanRecord => {
    s.attributes = { 'url.path': '/api/items' };
    s.endNs = s.startNs + 1_000n;
    return s;
  };
  const remote: SpanContext = { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', traceFlags: 1, isRemote: true };
  sameBytesAsSdk([
    ['a root SERVER span and its CLIENT span (trace, span and parent IDs from the pool)', () => {
      const server = startSpan(sink, SpanKind.SERVER, 'GET', null, 1n);
      return [ended(startSpan(sink, SpanKind.CLIENT, 'GET', server, 2n)), ended(server)];
    }],
    ['a SERVER span under a caller\'s context and its CLIENT span (the caller\'s IDs from hex)', () => {
      const server = startSpan(sink, SpanKind.SERVER, 'GET', remote, 1n);
      return [ended(startSpan(sink, SpanKind.CLIENT, 'GET', server, 2n)), ended(server)];
    }],
    ['spans encoded after the pool was refilled (decoded from hex instead)', () => {
      const server = startSpan(sink, SpanKind.SERVER, 'GET', null, 1n);
      const client = startSpan(sink, SpanKind.CLIENT, 'GET', server, 2n);
      for (let i = 0; i < 300; i++) randomTraceId();
      return [ended(client), ended(server)];
    }],
  ]);

  test('the IDs encoded are the records\' own', () => {
    const server = ended(startSpan(sink, SpanKind.SERVER, 'GET', null, 1n));
    const bytes = Buffer.from(encodeTraceRequest([server])!);
    assert.ok(bytes.includes(Buffer.from(server.traceId, 'hex')));
    assert.ok(bytes.includes(Buffer.from(server.spanId, 'hex')));
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
    ['an array attribute', () => [record({ attrs: { list: ['a', 'b'] } as unknown as SpanRecord['attributes'] })]],
    ['spans from two resources', () => [record(), new SpanRecord(other, SpanKind.SERVER, 'GET', '0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203332', null, 1n)]],
    ['an ID that is not hex', () => [record({ spanId: 'b7ad6b716920333z' })]],
  ];
  for (const [name, spans] of cases) {
    test(name, () => {
      const batch = spans();
      assert.equal(encodeTraceRequest(batch), null);
    });
  }
});

function requestEvent(over: Partial<RequestEvent> = {}): RequestEvent {
  return {
    site: 'inbound', method: 'GET', scheme: 'http', authority: 'reviews:9080', path: '/api/items', protocol: 'http/1.1', headers: {},
    remoteAddress: '10.1.2.3', startNs: 1n, rule: null, routePath: null, backend: null, upstream: null, upstreamIdentity: null,
    peerIdentity: null, attempts: 1, status: 200, requestBytes: 0, responseBytes: 0, endNs: 2n, error: null, grpcStatus: null, ...over,
  };
}

function attemptEvent(over: Partial<AttemptEvent> = {}): AttemptEvent {
  return {
    request: requestEvent(), attempt: 1, mirror: false, backend: 'service/default/reviews/9080', upstream: '10.0.0.7:9080', upstreamIdentity: null,
    method: 'GET', authority: 'reviews:9080', pathAndQuery: '/api/items', headers: {}, startNs: 1n, status: 200, endNs: 2n, error: null, ...over,
  };
}

/** A record as the tracer ends it: attributes read from its event. */
function fromEvent(source: RequestEvent | AttemptEvent, error?: string): SpanRecord {
  const client = 'pathAndQuery' in source;
  const s = new SpanRecord(sink, client ? SpanKind.CLIENT : SpanKind.SERVER, 'GET /api', '0af7651916cd43dd8448eb211c80319c', client ? '53995c3f42cd8ad8' : 'b7ad6b7169203331', null, process.hrtime.bigint());
  s.source = source;
  if (error !== undefined) s.status = { code: 2, message: error };
  s.endNs = s.startNs + 5_000n;
  return s;
}

describe('spans read from their events: the SDK serializer\'s bytes for the attribute objects span-attributes.ts builds', () => {
  const cases: [string, () => SpanRecord[]][] = [
    ['SERVER: the fewest attributes', () => [fromEvent(requestEvent())]],
    ['SERVER: every attribute (route, backend, upstream, peer, user agent, error)', () => [fromEvent(requestEvent({
      rule: 'httproute/default/reviews/rule/0', backend: 'service/default/reviews/9080', upstream: '10.0.0.7:9080',
      peerIdentity: 'spiffe://cluster.local/ns/default/sa/productpage', headers: { 'user-agent': 'curl/8.5' }, status: 503, error: 'upstream_connect',
    }), 'upstream_connect')]],
    ['SERVER: h2, https without a port, IPv6 authority, repeated user-agent, a non-ASCII path', () => [
      fromEvent(requestEvent({ protocol: 'h2', scheme: 'https', authority: 'reviews.default.svc' })),
      fromEvent(requestEvent({ authority: '[fd00::1]:8443', headers: { 'user-agent': ['a/1', 'b/2'] }, path: '/café/☃' })),
      fromEvent(requestEvent({ authority: 'odd:port:here', protocol: 'http/1.0' })),
    ]],
    ['CLIENT: first attempt, a query string', () => [fromEvent(attemptEvent({ pathAndQuery: '/api/items?page=2' }))]],
    ['CLIENT: a retry, a mirror, meshed, routed, failed', () => [fromEvent(attemptEvent({
      attempt: 3, mirror: true, upstreamIdentity: 'spiffe://cluster.local/ns/default/sa/reviews', status: 0, error: 'connect ECONNREFUSED',
      request: requestEvent({ rule: 'httproute/default/reviews/rule/1' }),
    }), 'connect ECONNREFUSED')]],
    ['CLIENT: a URL of 300 characters (two-byte lengths around it), IPv6 upstream', () => [fromEvent(attemptEvent({ pathAndQuery: `/${'x'.repeat(300)}?q=1`, upstream: '[fd00::7]:9080' }))]],
  ];
  sameBytesAsSdk(cases);

  // A span whose values are all an earlier span's copies that span's attribute block: each
  // variant below differs from the base in one value only, so a block reused for it would give
  // the base's bytes where the SDK writes the variant's.
  const base = { rule: 'httproute/default/reviews/rule/0', backend: 'service/default/reviews/9080', upstream: '10.0.0.7:9080', headers: { 'user-agent': 'curl/8.5' } };
  const serverVariants: Partial<RequestEvent>[] = [
    { method: 'POST' }, { path: '/api/other' }, { scheme: 'https' }, { authority: 'reviews:9081' }, { protocol: 'h2' }, { remoteAddress: '10.1.2.4' },
    { status: 404 }, { headers: { 'user-agent': 'curl/8.6' } }, { headers: {} }, { rule: 'httproute/default/reviews/rule/1' }, { rule: null },
    { backend: 'service/default/ratings/9080' }, { upstream: '10.0.0.8:9080' }, { peerIdentity: 'spiffe://cluster.local/ns/default/sa/web' }, { error: 'upstream_connect' },
  ];
  const clientVariants: Partial<AttemptEvent>[] = [
    { method: 'POST' }, { authority: 'reviews:9081' }, { pathAndQuery: '/api/items?page=2' }, { upstream: '10.0.0.8:9080' }, { status: 503 },
    { backend: 'service/default/ratings/9080' }, { attempt: 2 }, { mirror: true }, { upstreamIdentity: 'spiffe://cluster.local/ns/default/sa/reviews' },
    { request: requestEvent({ rule: 'httproute/default/reviews/rule/1' }) }, { request: null }, { error: 'connect ECONNREFUSED' },
  ];
  sameBytesAsSdk([
    ['SERVER: a block is copied only for the same values (each variant differs from the base in one)', () => serverVariants.flatMap((v) => [
      fromEvent(requestEvent(base)), fromEvent(requestEvent({ ...base, ...v })), fromEvent(requestEvent(base)),
    ])],
    ['CLIENT: a block is copied only for the same values (each variant differs from the base in one)', () => clientVariants.flatMap((v) => [
      fromEvent(attemptEvent({ request: requestEvent(base) })), fromEvent(attemptEvent({ request: requestEvent(base), ...v })), fromEvent(attemptEvent({ request: requestEvent(base) })),
    ])],
  ]);

  // Traffic as a hop pair records it: both hops' SERVER and CLIENT spans in the order they end (so
  // each kind's cached runs alternate between two value sets), every request on another path,
  // statuses and errors changing, and paths the fast writers cannot take (non-ASCII, too long for
  // one-byte lengths) or take in part (a query string): every span's bytes are the SDK's, whether
  // the attributes around its path were copied or written.
  sameBytesAsSdk([['a hop pair\'s spans over 90 requests: distinct paths, changing statuses and errors, odd paths', () => {
    const spans: SpanRecord[] = [];
    for (let i = 0; i < 90; i++) {
      const path = i % 7 === 3 ? `/café/☃/${i}` : i % 11 === 5 ? `/${'x'.repeat(130)}/${i}` : `/api/items/${i}`;
      const status = i % 5 === 4 ? 503 : i % 3 === 2 ? 404 : 200;
      const error = status === 503 ? 'upstream_connect' : null;
      const outbound = requestEvent({ site: 'outbound', path, status, error, ...base, authority: i % 13 === 6 ? 'réviews:9080' : 'reviews:9080' });
      const inbound = requestEvent({ path, status, error, upstream: '127.0.0.1:9080', backend: 'inbound/9080', peerIdentity: 'spiffe://cluster.local/ns/default/sa/web' });
      spans.push(
        fromEvent(attemptEvent({ request: inbound, backend: 'inbound/9080', upstream: '127.0.0.1:9080', pathAndQuery: path, status, error })),
        fromEvent(inbound, error ?? undefined),
        fromEvent(attemptEvent({ request: outbound, authority: outbound.authority, pathAndQuery: i % 4 === 1 ? `${path}?page=${i}` : path, status, error }), error ?? undefined),
        fromEvent(outbound, error ?? undefined),
      );
    }
    return spans;
  }]]);

  test('a batch filled as spans end and sealed later is the request for all of them; each seal starts a new batch', () => {
    const spans = [fromEvent(requestEvent()), fromEvent(attemptEvent()), fromEvent(requestEvent({ status: 404 }))];
    const batch = new SpanBatch(batchFraming(sink.resource, sink.scope), 16); // grows as spans come
    for (const s of spans) assert.equal(batch.add(s), true);
    assert.equal(batch.count, 3);
    assert.deepEqual(Buffer.from(batch.seal()), sdkBytes(spans));
  });

  test('a span that cannot be encoded is refused and leaves the batch as it was', () => {
    const good = fromEvent(requestEvent());
    const batch = new SpanBatch(batchFraming(sink.resource, sink.scope), 4096);
    assert.equal(batch.add(good), true);
    assert.equal(batch.add(record({ spanId: 'not-hex-at-all!!' })), false);
    assert.equal(batch.count, 1);
    assert.deepEqual(Buffer.from(batch.seal()), sdkBytes([good]));
  });
});
