// Which requests build a telemetry event on the fast path (issue 11): with the tracer alone, a
// request it does not sample builds none (at 1 % sampling the 99 % pay the propagation only); its
// trace context (and the ingress's x-request-id) is written into the planned request's headers,
// which every attempt copies, so the upstream sees what the tracer's per-attempt write sent.
// With metrics or access logs on, every request still builds its event, the same event whether
// the tracer is on or not, and the tracer sees it as before.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProxyCore } from '../core.ts';
import type { HttpSite } from '../http-handler.ts';
import { meshTable, rule, servicePort, SERVICE_IP, vhost } from '../../route/test-support.ts';
import { decide, type FastDecision } from './engine-bridge.ts';
import { describeRequest, type RequestHead } from './request-head.ts';
import { CHANNELS, endRequest, type RequestEvent, type SiteKind } from '../../telemetry/events.ts';
import { startAttemptEvent } from '../../telemetry/build-events.ts';
import { startMeshMetrics } from '../../telemetry/metrics/index.ts';
import { startAccessLog } from '../../telemetry/access-log.ts';
import { startRequestTracer } from '../../telemetry/tracing/tracer.ts';
import type { SpanRecord, SpanSink } from '../../telemetry/tracing/span-record.ts';

const quiet = (): void => undefined;
const CANONICAL = /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/;
const UNSAMPLED_IN = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
const SAMPLED_IN = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function siteOf(kind: SiteKind): HttpSite {
  return { kind, scheme: 'http', destination: () => ({ kind: 'route', target: { kind: 'mesh', address: SERVICE_IP, port: 80, clientNamespace: 'client' } }) };
}

function head(fields: string[], target = '/api/x?q=1'): RequestHead {
  const d = describeRequest(1, 1, ['Host', 'echo.ns', 'User-Agent', 't/1', ...fields], 'GET', target, false, true);
  if (d.kind !== 'fast') throw new Error(`not a fast-path request: ${d.kind}`);
  return d.head;
}

function sink(): SpanSink & { spans: SpanRecord[] } {
  const spans: SpanRecord[] = [];
  return { resource: resourceFromAttributes({ 'service.name': 'test' }), scope: { name: 'meshlet' }, spans, end: (s) => { spans.push(s); } };
}

const core = new ProxyCore({ log: quiet, streamIdleTimeoutMs: 0 });
before(() => { assert.ok(core.holder.apply(meshTable([servicePort({ producer: { kind: 'HTTPRoute', virtualHosts: [vhost('*', [rule('r')])] } })]))); });

function forward(site: SiteKind, fields: string[]): Extract<FastDecision, { kind: 'forward' }> {
  const d = decide(core, siteOf(site), head(fields), '127.0.0.1');
  if (d.kind !== 'forward') throw new Error(`not forwarded: ${d.kind}`);
  return d;
}

/** The headers an attempt of `d` sends, as connection-exchange.ts builds them (a copy, then the attempt event). */
function attemptHeaders(d: Extract<FastDecision, { kind: 'forward' }>): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name in d.plan.request.headers) if (name !== 'host') headers[name] = d.plan.request.headers[name]!;
  if (d.ev) startAttemptEvent(d.ev, 1, false, 'b', { address: '10.0.0.1', port: 80 }, { method: 'GET', authority: 'echo.ns', pathAndQuery: '/api/x?q=1', headers });
  return headers;
}

/** An event's fields, without the ones that differ per request (time) or belong to the tracer. */
function fieldsOf(ev: RequestEvent): Record<string, unknown> {
  const { startNs: _s, tracing: _t, observer: _o, ...rest } = ev;
  return rest;
}

// request forms: no context (this hop is the root), a caller's unsampled and sampled W3C context, B3
const FORMS: [string, string[]][] = [
  ['no context', []],
  ['unsampled W3C', ['traceparent', UNSAMPLED_IN]],
  ['sampled W3C', ['traceparent', SAMPLED_IN]],
  ['B3', ['b3', '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0']],
];

describe('the tracer alone', () => {
  test('an unsampled request builds no event; its context goes out in the planned headers', () => {
    const t = startRequestTracer(sink(), { parentBased: true, ratio: 0 });
    try {
      const root = forward('outbound', []);
      assert.equal(root.ev, null, 'an unsampled root builds no event');
      assert.match(root.plan.request.headers.traceparent as string, CANONICAL);
      assert.equal(attemptHeaders(root).traceparent, root.plan.request.headers.traceparent, 'every attempt copies it');
      const caller = forward('inbound', ['traceparent', UNSAMPLED_IN]);
      assert.equal(caller.ev, null, 'a caller\'s unsampled context builds no event');
      assert.equal(attemptHeaders(caller).traceparent, UNSAMPLED_IN);
      const gw = forward('gateway', []);
      assert.equal(gw.ev, null);
      assert.match(gw.plan.request.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
      assert.match(gw.plan.request.headers.traceparent as string, CANONICAL);
      assert.equal(forward('gateway', ['X-Request-Id', 'mine']).plan.request.headers['x-request-id'], 'mine');
      // forms the head decision leaves to the event (B3, or a context not in the canonical form)
      const b3 = forward('inbound', FORMS[3]![1]);
      assert.ok(b3.ev, 'B3 takes the general reader, on the event');
      assert.equal(attemptHeaders(b3).b3, '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0');
    } finally {
      t.stop();
    }
  });

  test('a sampled request builds its event, once per request (the root\'s draw is not taken again)', () => {
    const spans = sink();
    const t = startRequestTracer(spans, { parentBased: true, ratio: 1 });
    try {
      for (const [name, fields] of [FORMS[0]!, FORMS[2]!]) {
        const d = forward('outbound', fields);
        assert.ok(d.ev, `${name}: sampled, with its event`);
        assert.equal(d.ev.observer?.attempts, true, `${name}: the tracer records it`);
        const out = attemptHeaders(d);
        assert.match(out.traceparent as string, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, name);
        if (name === 'sampled W3C') assert.equal((out.traceparent as string).slice(3, 35), SAMPLED_IN.slice(3, 35));
        endRequest(d.ev, 200, null);
      }
    } finally {
      t.stop();
    }
    assert.equal(spans.spans.length, 1, 'the root\'s SERVER span (the caller\'s sampled call is a CLIENT span under it, not ended here)');
  });

  test('a root is sampled at the ratio when decided from the head (one draw per request)', () => {
    const t = startRequestTracer(sink(), { parentBased: true, ratio: 0.5 });
    let built = 0;
    try {
      for (let i = 0; i < 2000; i++) {
        const d = forward('outbound', []);
        if (d.ev) { built++; assert.equal(d.ev.observer?.attempts, true); }
      }
    } finally {
      t.stop();
    }
    // Binomial(2000, 0.5): mean 1000, sd 22; a second draw at the event would give ~500.
    assert.ok(built > 850 && built < 1150, `${built} of 2000 built an event`);
  });

  test('without the tracer nobody observes: no event, no context written', () => {
    const d = forward('outbound', []);
    assert.equal(d.ev, null);
    assert.equal(d.plan.request.headers.traceparent, undefined);
  });
});

describe('metrics or access logs on', () => {
  const self = { name: 'bench', namespace: 'default', pod: 'bench-0', principal: '' };

  test('every request builds its event, the same with the tracer on or off, and the tracer still propagates', () => {
    for (const [who, start] of [
      ['metrics', () => { const m = startMeshMetrics(self); return { stop: () => m.stop(), seen: () => /meshlet_requests_total\{[^}]*\} 1\b/.test(m.render()) }; }],
      ['access log', () => {
        const lines: string[] = [];
        const a = startAccessLog({ format: 'json', write: (c) => { lines.push(c); } });
        return { stop: () => a.stop(), seen: () => { a.stop(); return lines.join('').includes('"path":"/api/x"'); } };
      }],
    ] as const) {
      for (const [form, fields] of FORMS) {
        for (const ratio of [0, 1]) {
          const off = start();
          let without: Record<string, unknown>;
          try {
            const d = forward('inbound', fields);
            assert.ok(d.ev, `${who}, ${form}: an event without the tracer`);
            without = fieldsOf(d.ev);
            endRequest(d.ev, 200, null);
            assert.ok(off.seen(), `${who}, ${form}: it counted the request`);
          } finally {
            off.stop();
          }
          const on = start();
          const t = startRequestTracer(sink(), { parentBased: true, ratio });
          try {
            const d = forward('inbound', fields);
            assert.ok(d.ev, `${who}, ${form}, ratio ${ratio}: an event with the tracer`);
            assert.deepEqual(fieldsOf(d.ev), without, `${who}, ${form}, ratio ${ratio}: the same event`);
            assert.notEqual(d.ev.observer, null, `${who}, ${form}, ratio ${ratio}: the tracer saw it`);
            const out = attemptHeaders(d);
            assert.match(out.traceparent as string, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, `${who}, ${form}: context written`);
            if (form === 'unsampled W3C') assert.equal(out.traceparent, UNSAMPLED_IN);
            endRequest(d.ev, 200, null);
            assert.ok(on.seen(), `${who}, ${form}, ratio ${ratio}: it counted the request`);
          } finally {
            t.stop();
            on.stop();
          }
        }
      }
    }
  });

  test('a request:start subscriber sees the tracer\'s state on the event (the tracer goes first, whenever each started)', () => {
    const seen: unknown[] = [];
    const onStart = (m: unknown): void => { seen.push((m as RequestEvent).tracing); };
    dc.subscribe(CHANNELS.requestStart, onStart);
    const t = startRequestTracer(sink(), { parentBased: true, ratio: 0 });
    try {
      const d = forward('inbound', ['traceparent', UNSAMPLED_IN]);
      assert.ok(d.ev);
      assert.deepEqual(seen, [UNSAMPLED_IN]);
      assert.equal(t.traceIdOf(d.ev), UNSAMPLED_IN.slice(3, 35));
    } finally {
      t.stop();
      dc.unsubscribe(CHANNELS.requestStart, onStart);
    }
  });
});
