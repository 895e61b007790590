// Retries and mirrors per backend without an attempt event per request: retries are read from
// the request's attempt count at its end, mirrors from their own channel, and the engine's
// attempt builder makes no event when nobody listens to attempts (the metrics alone).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { CHANNELS, requestEnd, type RequestEvent } from '../events.ts';
import { endAttemptEvent, startAttemptEvent } from '../build-events.ts';
import { startMeshMetrics } from './mesh-metrics.ts';

const self = { name: 'reviews', namespace: 'shop', pod: 'reviews-7d9c8-x2bqz', principal: '' };
const backend = 'service/shop/ratings/9080';
const target = { address: '10.0.0.7', port: 9080, identity: null, podName: 'ratings-v1-7d9c8b6f4d-x2bqz' };
const req = { method: 'GET', authority: 'ratings:9080', pathAndQuery: '/r', headers: {} };

function ev(over: Partial<RequestEvent> = {}): RequestEvent {
  return {
    site: 'outbound', method: 'GET', scheme: 'http', authority: 'ratings:9080', path: '/r', protocol: 'http/1.1', headers: {},
    remoteAddress: '127.0.0.1', startNs: 0n, rule: 'httproute/shop/ratings/rule/0', routePath: '/r', backend: null,
    upstream: null, upstreamIdentity: null, peerIdentity: null, attempts: 0,
    status: 200, requestBytes: 0, responseBytes: 2, endNs: 1_000n, error: null, grpcStatus: null, ...over,
  };
}

function sample(text: string, name: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${name}{`));
}

describe('upstream counters in the metrics subscriber', () => {
  test('retries: the attempts after the first of each request, per backend; a first attempt is none', () => {
    const m = startMeshMetrics(self, 100);
    try {
      requestEnd.publish(ev({ attempts: 3, backend: backend, status: 503 }));
      requestEnd.publish(ev({ attempts: 1, backend: backend }));
      requestEnd.publish(ev({ attempts: 2, backend: backend }));
      requestEnd.publish(ev({ attempts: 1, backend: 'service/shop/details/9080' }));
      const text = m.render();
      assert.equal(sample(text, 'meshlet_upstream_retries_total'), 'meshlet_upstream_retries_total{backend="service/shop/ratings/9080"} 3');
      assert.ok(!text.includes('backend="service/shop/details/9080"'), 'no series for a backend never retried');
    } finally {
      m.stop();
    }
  });

  test('mirrors: copies and the ones that got no answer, from the engine\'s attempt builder', () => {
    const m = startMeshMetrics(self, 100);
    try {
      const request = ev();
      for (const error of [null, 'connect ECONNREFUSED', null]) {
        const at = startAttemptEvent(request, 1, true, backend, target, req);
        assert.ok(at, 'a mirror has an event while its channel has a listener');
        endAttemptEvent(at, error ? 503 : 200, error);
      }
      const text = m.render();
      assert.equal(sample(text, 'meshlet_upstream_mirror_requests_total'), 'meshlet_upstream_mirror_requests_total{backend="service/shop/ratings/9080"} 3');
      assert.equal(sample(text, 'meshlet_upstream_mirror_failures_total'), 'meshlet_upstream_mirror_failures_total{backend="service/shop/ratings/9080"} 1');
      assert.equal(request.attempts, 0, 'a mirror is not one of the request\'s attempts');
    } finally {
      m.stop();
    }
  });
});

describe('attempt events', () => {
  test('with only the metrics listening, no event is built, and the request still learns its endpoint', () => {
    const m = startMeshMetrics(self, 100);
    try {
      const request = ev();
      assert.equal(startAttemptEvent(request, 2, false, backend, target, req), null);
      assert.deepEqual([request.attempts, request.backend, request.upstream, request.upstreamPod], [2, backend, '10.0.0.7:9080', target.podName]);
    } finally {
      m.stop();
    }
  });

  test('a listener on attempts gets every attempt, mirrors on both channels', () => {
    const attempts: unknown[] = [];
    const mirrors: unknown[] = [];
    const onAttempt = (x: unknown): void => void attempts.push(x);
    const onMirror = (x: unknown): void => void mirrors.push(x);
    dc.subscribe(CHANNELS.attemptEnd, onAttempt);
    dc.subscribe(CHANNELS.mirrorEnd, onMirror);
    try {
      const request = ev();
      const first = startAttemptEvent(request, 1, false, backend, target, req);
      assert.ok(first);
      endAttemptEvent(first, 200, null);
      const copy = startAttemptEvent(request, 1, true, backend, { ...target, address: '10.0.0.8' }, req);
      assert.ok(copy);
      endAttemptEvent(copy, 200, null);
      assert.deepEqual(attempts, [first, copy]);
      assert.deepEqual(mirrors, [copy]);
      assert.deepEqual([first.upstream, copy.upstream, request.upstream], ['10.0.0.7:9080', '10.0.0.8:9080', '10.0.0.7:9080']);
    } finally {
      dc.unsubscribe(CHANNELS.attemptEnd, onAttempt);
      dc.unsubscribe(CHANNELS.mirrorEnd, onMirror);
    }
  });

  test('endpoint names stay right past the few remembered', () => {
    const events: { upstream: string }[] = [];
    const on = (x: unknown): void => void events.push(x as { upstream: string });
    dc.subscribe(CHANNELS.attemptEnd, on);
    try {
      const want: string[] = [];
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 6; i++) {
          const at = startAttemptEvent(ev(), 1, false, backend, { ...target, address: `10.0.0.${i % 3}`, port: 80 + i }, req)!;
          endAttemptEvent(at, 200, null);
          want.push(`10.0.0.${i % 3}:${80 + i}`);
        }
      }
      assert.deepEqual(events.map((e) => e.upstream), want);
    } finally {
      dc.unsubscribe(CHANNELS.attemptEnd, on);
    }
  });
});
