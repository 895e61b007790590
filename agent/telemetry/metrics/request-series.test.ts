// The metrics subscriber finds a request's series by requestLabelsKey instead of deriving the
// labels per request: the key must be exactly as fine as the labels (equal keys, equal labels;
// fields no label reads, equal keys), and the counts and the overflow accounting must be what
// the per-request derivation gave.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestEvent } from '../events.ts';
import { requestEnd } from '../events.ts';
import { requestLabels, requestLabelsKey } from './labels.ts';
import { startMeshMetrics } from './mesh-metrics.ts';

const self = { name: 'reviews', namespace: 'shop', pod: 'reviews-7d9c8-x2bqz', principal: 'spiffe://cluster.local/ns/shop/sa/reviews' };
const caller = 'spiffe://cluster.local/ns/web/sa/front';

function ev(over: Partial<RequestEvent>): RequestEvent {
  return {
    site: 'outbound', method: 'GET', scheme: 'http', authority: 'ratings:9080', path: '/r/123', protocol: 'http/1.1', headers: {},
    remoteAddress: '127.0.0.1', startNs: 0n, rule: 'httproute/shop/ratings/rule/0', routePath: '/r', backend: 'service/shop/ratings/9080',
    upstream: '10.0.0.7:9080', upstreamIdentity: 'spiffe://cluster.local/ns/shop/sa/ratings', peerIdentity: null, attempts: 1,
    status: 200, requestBytes: 0, responseBytes: 10, endNs: 5_000_000n, error: null, grpcStatus: null, ...over,
  };
}

// Each entry changes one thing a label may (or must not) depend on.
const VARIANTS: Partial<RequestEvent>[] = [
  {}, { site: 'inbound' }, { site: 'gateway' }, { rule: null }, { rule: 'httproute/shop/ratings/rule/1' },
  { backend: null }, { backend: 'service/shop/details/9080' }, { backend: 'not-a-service-name' },
  { upstreamIdentity: null }, { upstreamIdentity: 'spiffe://cluster.local/ns/other/sa/x' },
  { site: 'inbound', peerIdentity: caller }, { site: 'inbound', peerIdentity: caller, headers: { 'x-meshlet-peer-workload': 'front-v2' } },
  { site: 'inbound', peerIdentity: null, headers: { 'x-meshlet-peer-workload': 'front-v2' } },
  { site: 'inbound', peerIdentity: caller, headers: { 'x-meshlet-peer-workload': ['a', 'b'] } },
  { upstreamPod: 'ratings-v1-7d9c8b6f4d-x2bqz' }, { upstreamPod: 'details-0' },
  { headers: { 'content-type': 'application/grpc' } }, { headers: { 'content-type': 'application/grpc' }, grpcStatus: '14' },
  { status: 503 }, { status: 0, error: 'reset' },
  // No label reads these: they must not split the series.
  { path: '/users/8f1c2d' }, { method: 'POST' }, { authority: 'other:80' }, { remoteAddress: '10.1.1.1' }, { requestBytes: 99 },
  { headers: { 'user-agent': 'curl' } },
];

describe('requestLabelsKey', () => {
  test('two events share a key exactly when they share a label set', () => {
    const events = VARIANTS.map(ev);
    for (const [i, a] of events.entries()) {
      for (const [j, b] of events.entries()) {
        const sameKey = requestLabelsKey(a) === requestLabelsKey(b);
        const sameLabels = JSON.stringify(requestLabels(a, self)) === JSON.stringify(requestLabels(b, self));
        assert.equal(sameKey, sameLabels, `${JSON.stringify(VARIANTS[i])} vs ${JSON.stringify(VARIANTS[j])}`);
      }
    }
  });
});

describe('request series in the metrics subscriber', () => {
  function line(text: string, prefix: string): string[] {
    return text.split('\n').filter((l) => l.startsWith(prefix));
  }

  test('counts and histograms per label set, as many times as requests ended', () => {
    const m = startMeshMetrics(self, 100);
    try {
      for (let i = 0; i < 3; i++) requestEnd.publish(ev({ responseBytes: 5 }));
      requestEnd.publish(ev({ status: 503 }));
      const text = m.render();
      const totals = line(text, 'meshlet_requests_total{');
      assert.equal(totals.length, 2);
      assert.match(totals.find((l) => l.includes('response_code="200"'))!, / 3$/);
      assert.match(totals.find((l) => l.includes('response_code="503"'))!, / 1$/);
      assert.match(line(text, 'meshlet_response_bytes_sum{').find((l) => l.includes('response_code="200"'))!, / 15$/);
      assert.match(line(text, 'meshlet_request_duration_seconds_count{').find((l) => l.includes('response_code="200"'))!, / 3$/);
    } finally {
      m.stop();
    }
  });

  test('past the cap every sample of a new label set is folded into overflow and counted', () => {
    const m = startMeshMetrics(self, 2);
    try {
      requestEnd.publish(ev({ status: 200 }));
      requestEnd.publish(ev({ status: 201 }));
      for (let i = 0; i < 4; i++) requestEnd.publish(ev({ status: 503 }));
      requestEnd.publish(ev({ status: 200 }));
      const text = m.render();
      assert.match(line(text, 'meshlet_metrics_series_overflow_total')[0]!, / 4$/);
      assert.match(line(text, 'meshlet_requests_total{').find((l) => l.includes('reporter="overflow"'))!, / 4$/);
      assert.match(line(text, 'meshlet_requests_total{').find((l) => l.includes('response_code="200"'))!, / 2$/);
    } finally {
      m.stop();
    }
  });
});
