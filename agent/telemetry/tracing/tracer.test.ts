// The tracer's unsampled paths, as the next hop sees them: the headers an attempt carries after
// the tracer's attempt:start subscriber ran. A trace this hop starts and does not sample gets a
// fresh, valid, unsampled traceparent (the same on every retry of the request); a caller's
// unsampled W3C context is forwarded unchanged; B3 and unusual forms still take the full path.
// Sampled requests: the span records the export queue receives (ids, links, kinds, names,
// attributes, status, Unix times), as the OTLP exporters read them (ReadableSpan).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import dc from 'node:diagnostics_channel';
import { CHANNELS, endRequest, publishRequestStart, TRACE_UNDECIDED, type AttemptEvent, type HeaderValues, type RequestEvent, type SiteKind } from '../events.ts';
import { endAttemptEvent, startAttemptEvent } from '../build-events.ts';
import { canonicalTraceparentFlag } from './propagation.ts';
import type { SpanRecord, SpanSink } from './span-record.ts';
import { startRequestTracer, unsampledTraceparent } from './tracer.ts';

/** A sink that keeps what it is given. */
function collecting(): SpanSink & { spans: SpanRecord[] } {
  const spans: SpanRecord[] = [];
  return { resource: resourceFromAttributes({ 'service.name': 'test' }), scope: { name: 'meshlet' }, spans, end: (s) => { spans.push(s); } };
}

const CANONICAL = /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/;

function request(site: SiteKind, headers: HeaderValues): RequestEvent {
  const ev: RequestEvent = {
    site, method: 'GET', scheme: 'http', authority: 'svc:80', path: '/', protocol: 'http/1.1', headers,
    remoteAddress: '127.0.0.1', startNs: process.hrtime.bigint(), rule: null, routePath: null, backend: null, upstream: null, upstreamIdentity: null,
    peerIdentity: null, attempts: 0, status: 0, requestBytes: 0, responseBytes: 0, endNs: 0n, error: null, grpcStatus: null, tracing: null,
  };
  publishRequestStart(ev, TRACE_UNDECIDED);
  return ev;
}

/**
 * An attempt of `ev` as the engine starts one (build-events.ts), with a copy of the downstream
 * headers: its event, or null when none is built (nobody wants one).
 */
function startAttempt(ev: RequestEvent, n: number): { at: AttemptEvent | null; headers: Record<string, string | string[]> } {
  const headers = { ...ev.headers } as Record<string, string | string[]>;
  const at = startAttemptEvent(ev, n, false, 'b', { address: '10.0.0.1', port: 80 }, { method: 'GET', authority: 'svc:80', pathAndQuery: '/', headers });
  return { at, headers };
}

/** A sampled attempt's event (the tracer asks for one). */
function attemptEvent(ev: RequestEvent, n: number): AttemptEvent {
  const { at } = startAttempt(ev, n);
  assert.ok(at, 'a sampled request\'s attempt has an event');
  return at;
}

/** The upstream headers of one attempt of `ev`, starting from a copy of the downstream ones. */
function attempt(ev: RequestEvent, n = 1): Record<string, string | string[]> {
  const { at, headers } = startAttempt(ev, n);
  if (at) endAttemptEvent(at, 200, null);
  return headers;
}

describe('tracer, unsampled', () => {
  // Ratio 0: nothing this hop starts is sampled. (Each suite subscribes its own tracer for its
  // own tests only: two tracers on the same events would overwrite each other's state.)
  const sink = collecting();
  let tracer: ReturnType<typeof startRequestTracer>;
  before(() => { tracer = startRequestTracer(sink, { parentBased: true, ratio: 0 }); });
  after(() => { tracer.stop(); assert.equal(sink.spans.length, 0, 'no unsampled request recorded a span'); });

  test('a root gets a fresh unsampled traceparent, the same on every retry, distinct per request', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const ev = request('outbound', {});
      const first = attempt(ev, 1).traceparent as string;
      assert.match(first, CANONICAL);
      assert.equal(attempt(ev, 2).traceparent, first, 'a retry carries the same context');
      assert.equal(tracer.traceIdOf(ev), first.slice(3, 35));
      seen.add(first.slice(3, 35));
    }
    assert.equal(seen.size, 400);
  });

  test('a caller\'s unsampled W3C context is forwarded unchanged', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const ev = request('inbound', { traceparent: tp });
    assert.equal(attempt(ev).traceparent, tp);
    assert.equal(tracer.traceIdOf(ev), '0af7651916cd43dd8448eb211c80319c');
  });

  test('other forms take the full parser: flags normalised, invalid context replaced, B3 echoed', () => {
    const odd = request('inbound', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02' });
    assert.equal(attempt(odd).traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
    const zero = request('inbound', { traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-00` });
    const fresh = attempt(zero).traceparent as string;
    assert.match(fresh, CANONICAL);
    assert.notEqual(fresh.slice(3, 35), '0'.repeat(32));
    // a later version's extra fields (W3C): read as version 00's, sent on as version 00
    const future = request('inbound', { traceparent: 'cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-later' });
    assert.equal(attempt(future).traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
    const b3 = request('inbound', { b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0' });
    const out = attempt(b3);
    assert.equal(out.b3, '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0');
    assert.equal(out.traceparent, '00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00');
  });

  test('an unsampled request\'s attempts build no event: the context alone goes out, B3 in the form received', () => {
    // The tracer is the only one here that wants attempts, and it wants none of an unsampled
    // request's: no attempt event, timestamps or publishes per attempt (issue 11).
    for (const [site, headers] of [['outbound', {}], ['gateway', {}], ['inbound', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' }],
      ['inbound', { b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0' }]] as [SiteKind, HeaderValues][]) {
      const ev = request(site, headers);
      const { at, headers: out } = startAttempt(ev, 1);
      assert.equal(at, null, `${site} ${JSON.stringify(headers)}: no attempt event`);
      assert.match(out.traceparent as string, CANONICAL);
      if (headers.b3) assert.equal(out.b3, headers.b3);
      endRequest(ev, 200, null);
    }
  });

  test('whoever subscribes to attempts still gets every attempt, its trace context already written', () => {
    const seen: string[] = [];
    const onStart = (m: unknown): void => { seen.push((m as AttemptEvent).headers.traceparent as string); };
    dc.subscribe(CHANNELS.attemptStart, onStart);
    try {
      const ev = request('outbound', {});
      const { at, headers } = startAttempt(ev, 1);
      assert.ok(at);
      assert.match(headers.traceparent as string, CANONICAL);
      assert.deepEqual(seen, [headers.traceparent]);
    } finally {
      dc.unsubscribe(CHANNELS.attemptStart, onStart);
    }
  });

  test('the ingress still sets x-request-id on an unsampled request that has none', () => {
    const ev = request('gateway', {});
    const h = attempt(ev);
    assert.match(h['x-request-id'] as string, /^[0-9a-f-]{36}$/);
    assert.match(h.traceparent as string, CANONICAL);
    assert.equal(attempt(request('gateway', { 'x-request-id': 'mine' }))['x-request-id'], 'mine');
  });
});

describe('tracer, root sampling ratio', () => {
  test('a root is sampled at the ratio, not its square (one draw per request)', () => {
    const sink = collecting();
    const t = startRequestTracer(sink, { parentBased: true, ratio: 0.5 });
    try {
      // Outbound roots: a sampled one records exactly one SERVER span (no attempt here).
      for (let i = 0; i < 2000; i++) endRequest(request('outbound', {}), 200, null);
    } finally {
      t.stop();
    }
    const started = sink.spans.length;
    // Binomial(2000, 0.5): mean 1000, sd 22; ratio² would give ~500.
    assert.ok(started > 850 && started < 1150, `sampled ${started} of 2000 at ratio 0.5`);
  });
});

describe('tracer, sampled: the records the export queue receives', () => {
  const sink = collecting();
  let tracer: ReturnType<typeof startRequestTracer>;
  before(() => { tracer = startRequestTracer(sink, { parentBased: true, ratio: 1 }); });
  after(() => tracer.stop());
  const ID = /^[0-9a-f]{16}$/;

  test('a root SERVER span and two CLIENT attempts under it: ids, links, kinds, names, attributes, times', () => {
    sink.spans.length = 0;
    const before = Date.now();
    const ev = request('gateway', { 'user-agent': 'curl/8', 'x-request-id': 'r1' });
    ev.routePath = '/api';
    ev.rule = 'httproute/default/web/rule/0';
    const first = attemptEvent(ev, 1);
    endAttemptEvent(first, 503, null);
    const second = attemptEvent(ev, 2);
    endAttemptEvent(second, 200, null);
    endRequest(ev, 200, null);
    const after = Date.now();
    const [c1, c2, server] = sink.spans;
    assert.equal(sink.spans.length, 3);
    assert.deepEqual([server!.kind, c1!.kind, c2!.kind], [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.CLIENT]);
    assert.deepEqual([server!.name, c1!.name], ['GET /api', 'GET /api']);
    assert.match(server!.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(server!.traceId, '0'.repeat(32));
    assert.equal(server!.parentSpanContext, undefined, 'the root has no parent');
    for (const c of [c1!, c2!]) {
      assert.equal(c.traceId, server!.traceId);
      assert.equal(c.parentSpanContext?.spanId, server!.spanId);
      assert.match(c.spanId, ID);
    }
    assert.equal(new Set(sink.spans.map((s) => s.spanId)).size, 3, 'distinct span ids');
    // Each attempt carried its own span's context to the upstream.
    assert.equal(first.headers.traceparent, `00-${server!.traceId}-${c1!.spanId}-01`);
    assert.equal(second.headers.traceparent, `00-${server!.traceId}-${c2!.spanId}-01`);
    assert.equal(server!.spanContext().traceFlags & TraceFlags.SAMPLED, 1);
    assert.equal(server!.attributes['http.response.status_code'], 200);
    assert.equal(server!.attributes['user_agent.original'], 'curl/8');
    assert.equal(server!.attributes['meshlet.route'], 'httproute/default/web/rule/0');
    assert.equal(c2!.attributes['meshlet.retry.attempt'], 2);
    assert.deepEqual([c1!.status.code, c2!.status.code, server!.status.code], [2, 0, 0], 'the 503 attempt is an error');
    // Unix times from the events' hrtime stamps: within the test's wall-clock window, in order.
    for (const s of sink.spans) {
      const start = s.startTime[0] * 1000 + s.startTime[1] / 1e6;
      const end = s.endTime[0] * 1000 + s.endTime[1] / 1e6;
      assert.ok(start >= before - 5 && end <= after + 5 && start <= end, `${s.name}: ${start}..${end} outside ${before}..${after}`);
      assert.ok(s.startTime[1] >= 0 && s.startTime[1] < 1e9 && Number.isInteger(s.startTime[1]));
      assert.ok(s.ended);
      assert.equal(s.duration[0] * 1e9 + s.duration[1], Number(s.endNs - s.startNs));
    }
    assert.equal(server!.resource, sink.resource);
    assert.deepEqual(server!.instrumentationScope, { name: 'meshlet' });
  });

  test('a caller\'s sampled context is the SERVER span\'s parent (remote), its tracestate carried on', () => {
    sink.spans.length = 0;
    const ev = request('inbound', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=x' });
    const h = attempt(ev);
    endRequest(ev, 200, null);
    const server = sink.spans.find((s) => s.kind === SpanKind.SERVER)!;
    assert.equal(server.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(server.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(server.parentSpanContext?.isRemote, true);
    assert.equal(server.traceState?.serialize(), 'vendor=x');
    assert.equal(h.tracestate, 'vendor=x');
    assert.match(h.traceparent as string, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  });

  test('an outbound call with the app\'s sampled context: CLIENT spans only, under the app\'s span', () => {
    sink.spans.length = 0;
    const ev = request('outbound', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const at = attemptEvent(ev, 1);
    endAttemptEvent(at, 0, 'upstream_connect');
    endRequest(ev, 0, 'upstream_connect');
    assert.equal(sink.spans.length, 1);
    assert.equal(sink.spans[0]!.kind, SpanKind.CLIENT);
    assert.equal(sink.spans[0]!.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(sink.spans[0]!.status.code, 2, 'no answer is a CLIENT error');
  });
});

describe('canonicalTraceparentFlag', () => {
  const id = '0af7651916cd43dd8448eb211c80319c';
  const span = 'b7ad6b7169203331';
  const cases: [string, number][] = [
    [`00-${id}-${span}-00`, 0], [`00-${id}-${span}-01`, 1],
    [`00-${id}-${span}-02`, -1], [`00-${id}-${span}-0f`, -1], [`01-${id}-${span}-00`, -1],
    [`00-${id.toUpperCase()}-${span}-00`, -1], [`00-${'0'.repeat(32)}-${span}-00`, -1], [`00-${id}-${'0'.repeat(16)}-00`, -1],
    [` 00-${id}-${span}-0`, -1], [`00-${id}-${span}-00 `, -1], [`00-${id}x${span}-00`, -1], [`00-${id.slice(1)}g-${span}-00`, -1], ['', -1],
    // characters outside latin1/ASCII whose low byte is a hex digit, a dash or a flag (U+0161, U+0131, U+012D)
    [`00-${id.slice(1)}\u0161-${span}-00`, -1], [`00-${id}-${span}-0\u0131`, -1], [`00-${id}\u012d${span}-00`, -1], [`00-${id}-${span.slice(1)}\u00e9-01`, -1],
  ];
  for (const [v, want] of cases) test(JSON.stringify(v), () => assert.equal(canonicalTraceparentFlag(v), want));
  test('agrees with the IDs unsampledTraceparent writes', () => {
    for (let i = 0; i < 500; i++) assert.equal(canonicalTraceparentFlag(unsampledTraceparent()), 0);
  });
});
