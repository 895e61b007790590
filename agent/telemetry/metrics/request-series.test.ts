// The metrics subscriber finds a request's series by requestLabelsKey instead of deriving the
// labels per request: the key must be exactly as fine as the labels (equal keys, equal labels;
// fields no label reads, equal keys), and the counts and the overflow accounting must be what
// the per-request derivation gave.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestEvent } from '../events.ts';
import { requestEnd } from '../events.ts';
import { hasRequestLabelInputs, requestLabelInputs, requestLabels, requestLabelsKey } from './labels.ts';
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
  { site: 'inbound', peerIdentity: caller }, { site: 'inbound', peerIdentity: caller, peerWorkloadHeader: 'front-v2' },
  { site: 'inbound', peerIdentity: null, peerWorkloadHeader: 'front-v2' },
  { site: 'inbound', peerIdentity: caller, peerWorkloadHeader: ['a', 'b'] },
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

describe('hasRequestLabelInputs (the subscriber\'s recent label sets)', () => {
  test('an event matches remembered inputs exactly when it shares their key', () => {
    const events = VARIANTS.map(ev);
    for (const [i, a] of events.entries()) {
      const inputs = requestLabelInputs(a);
      for (const [j, b] of events.entries()) {
        assert.equal(hasRequestLabelInputs(b, inputs), requestLabelsKey(a) === requestLabelsKey(b), `${JSON.stringify(VARIANTS[i])} vs ${JSON.stringify(VARIANTS[j])}`);
      }
    }
  });

  test('equal strings that are different objects still match (a table pushed again)', () => {
    const a = ev({});
    const b = ev({ rule: ['httproute/shop/ratings', 'rule/0'].join('/'), backend: ['service/shop/ratings', '9080'].join('/') });
    assert.equal(hasRequestLabelInputs(b, requestLabelInputs(a)), true);
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

  test('more label sets in turn than it remembers: each request still lands in its own series', () => {
    const m = startMeshMetrics(self, 100);
    const codes = [200, 201, 202, 203, 204, 404, 503];
    try {
      for (let round = 0; round < 3; round++) {
        for (const [i, status] of codes.entries()) {
          for (let k = 0; k <= i; k++) requestEnd.publish(ev({ status, site: k % 2 === 0 ? 'outbound' : 'inbound', peerIdentity: caller }));
        }
      }
      const totals = line(m.render(), 'meshlet_requests_total{');
      for (const [i, status] of codes.entries()) {
        const count = (reporter: string): number => Number(totals.find((l) => l.includes(`response_code="${status}"`) && l.includes(`reporter="${reporter}"`))?.split(' ').pop());
        assert.equal(count('source') + (i > 0 ? count('destination') : 0), 3 * (i + 1), `code ${status}`);
        assert.equal(count('source'), 3 * Math.ceil((i + 1) / 2), `code ${status} outbound`);
      }
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
