// The tracer's unsampled paths, as the next hop sees them: the headers an attempt carries after
// the tracer's attempt:start subscriber ran. A trace this hop starts and does not sample gets a
// fresh, valid, unsampled traceparent (the same on every retry of the request); a caller's
// unsampled W3C context is forwarded unchanged; B3 and unusual forms still take the full path.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { attemptStart, requestStart, type AttemptEvent, type HeaderValues, type RequestEvent, type SiteKind } from '../events.ts';
import { canonicalTraceparentFlag } from './propagation.ts';
import { startRequestTracer, unsampledTraceparent } from './tracer.ts';

const CANONICAL = /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/;

function request(site: SiteKind, headers: HeaderValues): RequestEvent {
  const ev: RequestEvent = {
    site, method: 'GET', scheme: 'http', authority: 'svc:80', path: '/', protocol: 'http/1.1', headers,
    remoteAddress: '127.0.0.1', startNs: 0n, rule: null, routePath: null, backend: null, upstream: null, upstreamIdentity: null,
    peerIdentity: null, attempts: 0, status: 0, requestBytes: 0, responseBytes: 0, endNs: 0n, error: null, grpcStatus: null, tracing: null,
  };
  requestStart.publish(ev);
  return ev;
}

/** The upstream headers of one attempt of `ev`, starting from a copy of the downstream ones. */
function attempt(ev: RequestEvent, n = 1): Record<string, string | string[]> {
  const headers = { ...ev.headers } as Record<string, string | string[]>;
  const at: AttemptEvent = {
    request: ev, attempt: n, mirror: false, backend: 'b', upstream: '10.0.0.1:80', upstreamIdentity: null, method: 'GET',
    authority: 'svc:80', pathAndQuery: '/', headers, startNs: 0n, status: 0, endNs: 0n, error: null,
  };
  attemptStart.publish(at);
  return headers;
}

describe('tracer, unsampled', () => {
  // Ratio 0: nothing this hop starts is sampled; the no-op API tracer would fail any span test.
  const tracer = startRequestTracer(trace.getTracer('test'), { parentBased: true, ratio: 0 });
  after(() => tracer.stop());

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
    const b3 = request('inbound', { b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0' });
    const out = attempt(b3);
    assert.equal(out.b3, '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0');
    assert.equal(out.traceparent, '00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00');
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
    let started = 0;
    const span = {
      spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 }),
      setAttributes: () => span, setStatus: () => span, updateName: () => span, end: () => undefined,
    };
    const fake = { startSpan: () => { started++; return span; } } as unknown as Parameters<typeof startRequestTracer>[0];
    const t = startRequestTracer(fake, { parentBased: true, ratio: 0.5 });
    try {
      // Outbound roots: a sampled one starts exactly one SERVER span (no attempt here).
      for (let i = 0; i < 2000; i++) request('outbound', {});
    } finally {
      t.stop();
    }
    // Binomial(2000, 0.5): mean 1000, sd 22; ratio² would give ~500.
    assert.ok(started > 850 && started < 1150, `sampled ${started} of 2000 at ratio 0.5`);
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
  ];
  for (const [v, want] of cases) test(JSON.stringify(v), () => assert.equal(canonicalTraceparentFlag(v), want));
  test('agrees with the IDs unsampledTraceparent writes', () => {
    for (let i = 0; i < 500; i++) assert.equal(canonicalTraceparentFlag(unsampledTraceparent()), 0);
  });
});
