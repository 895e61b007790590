import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PolicyIR, RoutingTable } from '../../api/routing-table.ts';
import { authorize, parseDefaultInboundPolicy } from './authorize.ts';

const TD = 'spiffe://cluster.local';
const policy = (name: string, endpoints: [string, number][], rules: { principals: string[]; ports?: number[] }[]): PolicyIR => ({
  name: `authorizationpolicy/shop/${name}`, namespace: 'shop',
  endpoints: endpoints.map(([address, port]) => ({ address, port, namespace: 'shop', podName: 'reviews-0' })),
  rules: rules.map((r) => ({ principals: r.principals, ports: r.ports ?? [] })),
});
const table = (policies: PolicyIR[]): RoutingTable => ({ apiVersion: 'meshlet.dev/routing/v1alpha1', version: 'v', gateways: [], services: [], backends: [], secrets: [], policies });

const t = table([
  policy('reviews', [['10.1.0.5', 9080]], [{ principals: [`${TD}/ns/shop/sa/productpage`] }, { principals: [`${TD}/ns/ops/sa/*`], ports: [9080] }]),
  policy('metrics-only', [['10.1.0.5', 0]], [{ principals: [`${TD}/ns/monitoring/sa/prometheus`], ports: [15090] }]),
]);

test('decisions, table-driven: governed endpoints, principals, wildcards, ports, plaintext, defaults', () => {
  const cases: [string, number, string | null, 'allow' | 'authenticated' | 'deny', boolean, RegExp][] = [
    ['10.1.0.5', 9080, `${TD}/ns/shop/sa/productpage`, 'allow', true, /allowed by authorizationpolicy\/shop\/reviews/],
    ['10.1.0.5', 9080, `${TD}/ns/shop/sa/ratings`, 'allow', false, /no rule of .*reviews.*metrics-only allows spiffe:\/\/cluster\.local\/ns\/shop\/sa\/ratings on port 9080/],
    ['10.1.0.5', 9080, `${TD}/ns/ops/sa/debugger`, 'allow', true, /reviews/],
    ['10.1.0.5', 9080, `${TD}/ns/opsx/sa/debugger`, 'allow', false, /no rule/],
    ['10.1.0.5', 9080, null, 'allow', false, /unauthenticated \(plaintext\) caller/],
    ['::ffff:10.1.0.5', 9080, `${TD}/ns/shop/sa/productpage`, 'allow', true, /reviews/],
    // Port 8080 is governed only by the port-0 policy, whose only rule is for port 15090.
    ['10.1.0.5', 8080, `${TD}/ns/shop/sa/productpage`, 'allow', false, /metrics-only/],
    ['10.1.0.5', 15090, `${TD}/ns/monitoring/sa/prometheus`, 'deny', true, /metrics-only/],
    // Ungoverned endpoints: the default decides.
    ['10.1.0.9', 9080, null, 'allow', true, /default allow/],
    ['10.1.0.9', 9080, null, 'authenticated', false, /only mesh identities/],
    ['10.1.0.9', 9080, `${TD}/ns/a/sa/b`, 'authenticated', true, /authenticated/],
    ['10.1.0.9', 9080, `${TD}/ns/a/sa/b`, 'deny', false, /denies/],
  ];
  for (const [address, port, peer, fallback, allowed, reason] of cases) {
    const d = authorize(t, address, port, peer, fallback);
    assert.equal(d.allowed, allowed, `${address}:${port} ${peer ?? 'plaintext'} ${fallback}: ${d.reason}`);
    assert.match(d.reason, reason);
  }
});

test('a policy with an empty rule list governs and admits nothing (GEP-3779: empty sources match nothing)', () => {
  const closed = table([policy('closed', [['10.1.0.7', 80]], [{ principals: [] }])]);
  assert.equal(authorize(closed, '10.1.0.7', 80, `${TD}/ns/shop/sa/productpage`, 'allow').allowed, false);
});

test('the default inbound policy value is checked', () => {
  assert.equal(parseDefaultInboundPolicy(undefined, 'x'), 'allow');
  assert.equal(parseDefaultInboundPolicy('Authenticated', 'x'), 'authenticated');
  assert.throws(() => parseDefaultInboundPolicy('open', '--default-inbound-policy'), /--default-inbound-policy wants allow, authenticated or deny, got 'open'/);
});
