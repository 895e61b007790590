import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestEvent, TunnelEvent } from '../events.ts';
import { DURATION_BUCKETS, SeriesTable, newHistogram, observe, renderTable, requestLabels, serviceOf, tunnelLabels } from './index.ts';
import { addCounter, observeIn } from './series.ts';

const self = { name: 'reviews', namespace: 'shop', pod: 'reviews-7d9c8-x2bqz', principal: 'spiffe://cluster.local/ns/shop/sa/reviews' };

function ev(over: Partial<RequestEvent>): RequestEvent {
  return {
    site: 'outbound', method: 'GET', scheme: 'http', authority: 'ratings:9080', path: '/r/123', protocol: 'http/1.1', headers: {},
    remoteAddress: '127.0.0.1', startNs: 0n, rule: 'httproute/shop/ratings/rule/0', routePath: '/r', backend: 'service/shop/ratings/9080',
    upstream: '10.0.0.7:9080', upstreamIdentity: 'spiffe://cluster.local/ns/shop/sa/ratings', peerIdentity: null, attempts: 1,
    status: 200, requestBytes: 0, responseBytes: 10, endNs: 5_000_000n, error: null, grpcStatus: null, ...over,
  };
}

describe('request labels (Istio standard set)', () => {
  const cases: [string, RequestEvent, Record<string, string>][] = [
    ['outbound over mTLS: this workload is the source', ev({}), {
      reporter: 'source', source_workload: 'reviews', source_namespace: 'shop', source_principal: self.principal,
      destination_workload: 'unknown', destination_namespace: 'shop', destination_service: 'ratings.shop.svc.cluster.local',
      destination_principal: 'spiffe://cluster.local/ns/shop/sa/ratings', request_protocol: 'http', response_code: '200',
      grpc_response_status: '', connection_security_policy: 'mutual_tls', route: 'httproute/shop/ratings/rule/0',
    }],
    ['inbound from another namespace: this workload is the destination', ev({ site: 'inbound', peerIdentity: 'spiffe://cluster.local/ns/web/sa/front', upstreamIdentity: null, backend: null, rule: null, status: 503 }), {
      reporter: 'destination', source_workload: 'unknown', source_namespace: 'web', source_principal: 'spiffe://cluster.local/ns/web/sa/front',
      destination_workload: 'reviews', destination_namespace: 'shop', destination_service: 'reviews.shop.svc.cluster.local',
      destination_principal: self.principal, request_protocol: 'http', response_code: '503',
      grpc_response_status: '', connection_security_policy: 'mutual_tls', route: '',
    }],
    ['gateway, plaintext upstream, gRPC', ev({ site: 'gateway', upstreamIdentity: null, headers: { 'content-type': 'application/grpc+proto' }, grpcStatus: '14' }), {
      reporter: 'ingress', source_workload: 'reviews', source_namespace: 'shop', source_principal: self.principal,
      destination_workload: 'unknown', destination_namespace: 'unknown', destination_service: 'ratings.shop.svc.cluster.local',
      destination_principal: 'unknown', request_protocol: 'grpc', response_code: '200',
      grpc_response_status: '14', connection_security_policy: 'none', route: 'httproute/shop/ratings/rule/0',
    }],
  ];
  for (const [name, e, want] of cases) test(name, () => assert.deepEqual(requestLabels(e, self), want));

  test('peer workloads: the callee from the endpoint\'s pod, the caller from its header only over mTLS', () => {
    const workloads = (e: RequestEvent): [string, string] => {
      const l = requestLabels(e, self);
      return [l.source_workload!, l.destination_workload!];
    };
    const caller = 'spiffe://cluster.local/ns/web/sa/front';
    const cases: [string, RequestEvent, [string, string]][] = [
      ['outbound: the pod behind the endpoint names the destination', ev({ upstreamPod: 'ratings-v1-7d9c8b6f4d-x2bqz' }), ['reviews', 'ratings-v1']],
      ['outbound to an endpoint without a pod', ev({ upstreamPod: null }), ['reviews', 'unknown']],
      ['inbound over mTLS: the caller\'s header', ev({ site: 'inbound', peerIdentity: caller, peerWorkloadHeader: 'front-v2' }), ['front-v2', 'reviews']],
      ['inbound plaintext: the header is not believed', ev({ site: 'inbound', peerIdentity: null, upstreamIdentity: null, peerWorkloadHeader: 'front-v2' }), ['unknown', 'reviews']],
      ['inbound over mTLS, a value no workload has', ev({ site: 'inbound', peerIdentity: caller, peerWorkloadHeader: 'Front/../x' }), ['unknown', 'reviews']],
      ['inbound over mTLS, the header twice', ev({ site: 'inbound', peerIdentity: caller, peerWorkloadHeader: ['a', 'b'] }), ['unknown', 'reviews']],
    ];
    for (const [name, e, want] of cases) assert.deepEqual(workloads(e), want, name);
  });

  test('the request path never becomes a label value', () => {
    const values = Object.values(requestLabels(ev({ path: '/users/8f1c2d' }), self));
    assert.ok(!values.some((v) => v.includes('8f1c2d')));
  });

  test('backend names map to Service hosts', () => {
    assert.equal(serviceOf('service/default/echo/80'), 'echo.default.svc.cluster.local');
    assert.equal(serviceOf(null), 'unknown');
  });
});

describe('tunnel labels', () => {
  const tunnel = (over: Partial<TunnelEvent>): TunnelEvent => ({
    site: 'inbound', kind: 'tcp', remoteAddress: '10.0.0.3', upstream: '10.0.0.9:5432', peerIdentity: null, upstreamIdentity: null,
    startNs: 0n, bytesIn: 0, bytesOut: 0, endNs: 0n, error: null, ...over,
  });
  const front = 'spiffe://cluster.local/ns/web/sa/front';
  const db = 'spiffe://cluster.local/ns/data/sa/postgres';
  const cases: [string, TunnelEvent, Record<string, string>][] = [
    ['inbound over mTLS: the caller\'s namespace and principal, its workload unknown (no header in opaque bytes)', tunnel({ peerIdentity: front }), {
      reporter: 'destination', source_workload: 'unknown', source_namespace: 'web', source_principal: front,
      destination_workload: 'reviews', destination_namespace: 'shop', destination_service: 'reviews.shop.svc.cluster.local',
      destination_principal: self.principal, connection_security_policy: 'mutual_tls',
    }],
    ['inbound over mTLS, the caller\'s proxy named its workload (TCP preamble)', tunnel({ peerIdentity: front, peerWorkload: 'front-v2' }), {
      reporter: 'destination', source_workload: 'front-v2', source_namespace: 'web', source_principal: front,
      destination_workload: 'reviews', destination_namespace: 'shop', destination_service: 'reviews.shop.svc.cluster.local',
      destination_principal: self.principal, connection_security_policy: 'mutual_tls',
    }],
    ['inbound over mTLS, a named workload that is no object name is not believed', tunnel({ peerIdentity: front, peerWorkload: 'Front V2' }), {
      reporter: 'destination', source_workload: 'unknown', source_namespace: 'web', source_principal: front,
      destination_workload: 'reviews', destination_namespace: 'shop', destination_service: 'reviews.shop.svc.cluster.local',
      destination_principal: self.principal, connection_security_policy: 'mutual_tls',
    }],
    ['inbound plaintext: a workload without a verified peer is ignored', tunnel({ peerWorkload: 'front-v2' }), {
      reporter: 'destination', source_workload: 'unknown', source_namespace: 'unknown', source_principal: 'unknown',
      destination_workload: 'reviews', destination_namespace: 'shop', destination_service: 'reviews.shop.svc.cluster.local',
      destination_principal: self.principal, connection_security_policy: 'none',
    }],
    ['outbound over mTLS: the callee\'s namespace and principal', tunnel({ site: 'outbound', upstreamIdentity: db }), {
      reporter: 'source', source_workload: 'reviews', source_namespace: 'shop', source_principal: self.principal,
      destination_workload: 'unknown', destination_namespace: 'data', destination_service: 'unknown',
      destination_principal: db, connection_security_policy: 'mutual_tls',
    }],
    ['outbound over mTLS to an endpoint whose pod the table names', tunnel({ site: 'outbound', upstreamIdentity: db, upstreamPod: 'postgres-7d9c8b6f4d-x2bqz' }), {
      reporter: 'source', source_workload: 'reviews', source_namespace: 'shop', source_principal: self.principal,
      destination_workload: 'postgres', destination_namespace: 'data', destination_service: 'unknown',
      destination_principal: db, connection_security_policy: 'mutual_tls',
    }],
    ['outbound plaintext; a peer identity on the outbound side is not the callee\'s', tunnel({ site: 'outbound', peerIdentity: front }), {
      reporter: 'source', source_workload: 'reviews', source_namespace: 'shop', source_principal: self.principal,
      destination_workload: 'unknown', destination_namespace: 'unknown', destination_service: 'unknown',
      destination_principal: 'unknown', connection_security_policy: 'none',
    }],
  ];
  for (const [name, e, want] of cases) test(name, () => assert.deepEqual(tunnelLabels(e, self), want));
});

describe('histogram', () => {
  test('a value lands in the first bucket whose bound is ≥ it; above the last only in +Inf', () => {
    const h = newHistogram([0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 1, 50]) observe(h, v);
    assert.deepEqual(h.counts, [2, 2, 0]);
    assert.equal(h.count, 5);
    assert.equal(h.sum, 51.65);
  });

  test('renders cumulative buckets, +Inf, _sum and _count', () => {
    const t = new SeriesTable(['a'], 10);
    const s = t.get({ a: 'x' });
    observeIn(s, 'd', [1, 2], 0.5);
    observeIn(s, 'd', [1, 2], 1.5);
    observeIn(s, 'd', [1, 2], 9);
    addCounter(s, 'c', 3);
    assert.equal(renderTable(t, [{ name: 'c', type: 'counter', help: 'C.' }, { name: 'd', type: 'histogram', help: 'D.' }]), [
      '# HELP c C.', '# TYPE c counter', 'c{a="x"} 3',
      '# HELP d D.', '# TYPE d histogram',
      'd_bucket{a="x",le="1"} 1', 'd_bucket{a="x",le="2"} 2', 'd_bucket{a="x",le="+Inf"} 3', 'd_sum{a="x"} 11', 'd_count{a="x"} 3', '',
    ].join('\n'));
  });

  test('duration buckets are increasing and match Istio (1 ms to 1 h)', () => {
    assert.deepEqual([...DURATION_BUCKETS].sort((a, b) => a - b), DURATION_BUCKETS);
    assert.equal(DURATION_BUCKETS[0], 0.001);
    assert.equal(DURATION_BUCKETS.at(-1), 3600);
  });
});

describe('series cap', () => {
  test('past the cap new label sets share one "overflow" series and are counted', () => {
    const t = new SeriesTable(['route'], 3);
    for (let i = 0; i < 10; i++) addCounter(t.get({ route: `r${i}` }), 'n', 1);
    addCounter(t.get({ route: 'r1' }), 'n', 1);
    assert.equal(t.size, 4);
    assert.equal(t.overflowed, 7);
    const rows = [...t.all()].map((s) => [s.labels.route, s.values.get('n')]);
    assert.deepEqual(rows, [['r0', 1], ['r1', 2], ['r2', 1], ['overflow', 7]]);
  });

  test('label values are escaped', () => {
    const t = new SeriesTable(['route'], 3);
    addCounter(t.get({ route: 'a"b\\c\nd' }), 'n', 1);
    assert.match(renderTable(t, [{ name: 'n', type: 'counter', help: 'N.' }]), /n\{route="a\\"b\\\\c\\nd"\} 1/);
  });
});
