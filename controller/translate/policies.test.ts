import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MESH_CONTROLLER_NAME } from '../../api/names.ts';
import type { KubeObject } from './snapshot.ts';
import * as f from './test-fixtures.ts';

const ap = (name: string, spec: Record<string, unknown>, generation = 3): KubeObject => ({
  apiVersion: 'policy.meshlet.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name, namespace: 'shop', generation }, spec,
});
const pod = (name: string, ip: string, labels: Record<string, string>): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop', labels: { 'meshlet.dev/mesh': 'meshlet', ...labels } }, spec: { serviceAccountName: name.split('-')[0] }, status: { podIP: ip },
});
const svcTarget = { group: '', kind: 'Service', name: 'reviews' };

function translate(policies: KubeObject[]) {
  return f.run(f.snapshot({
    services: [f.service('reviews', 'shop', [{ name: 'http', port: 9080 }], '10.0.0.20')],
    endpointSlices: [f.endpointSlice('reviews', 'shop', ['10.1.0.5', '10.1.0.6'], [{ name: 'http', port: 9080 }], 'reviews-0')],
    pods: [pod('reviews-0', '10.1.0.5', { app: 'reviews' }), pod('ratings-0', '10.1.0.9', { app: 'ratings' })],
    authorizationPolicies: policies,
  }));
}

const accepted = (r: ReturnType<typeof translate>, name: string): unknown[] =>
  ((f.statusOf(r, 'AuthorizationPolicy', name, 'shop')?.ancestors ?? []) as { conditions: { status: string; reason: string }[] }[]).map((a) => `${a.conditions[0]!.status}/${a.conditions[0]!.reason}`);

describe('AuthorizationPolicy translation (GEP-3779 shape)', () => {
  test('a Service target resolves to its endpoints on their target ports; sources become SPIFFE principals', () => {
    const r = translate([ap('reviews-callers', {
      targetRefs: [svcTarget], action: 'ALLOW',
      rules: [
        { sources: [{ type: 'ServiceAccount', serviceAccount: { name: 'productpage' } }, { type: 'ServiceAccount', serviceAccount: { namespace: 'ops', name: '*' } }] },
        { sources: [{ type: 'SPIFFE', spiffe: 'spiffe://cluster.local/ns/monitoring/sa/prometheus' }], networkAttributes: { ports: [9080] } },
      ],
    })]);
    assert.deepEqual(r.ir.policies, [{
      name: 'authorizationpolicy/shop/reviews-callers', namespace: 'shop',
      endpoints: [
        { address: '10.1.0.5', port: 9080, namespace: 'shop', podName: 'reviews-0' },
        { address: '10.1.0.6', port: 9080, namespace: 'shop', podName: 'reviews-0' },
      ],
      rules: [
        { principals: ['spiffe://cluster.local/ns/ops/sa/*', 'spiffe://cluster.local/ns/shop/sa/productpage'], ports: [] },
        { principals: ['spiffe://cluster.local/ns/monitoring/sa/prometheus'], ports: [9080] },
      ],
    }]);
    assert.deepEqual(accepted(r, 'reviews-callers'), ['True/Accepted']);
    const status = f.statusOf(r, 'AuthorizationPolicy', 'reviews-callers', 'shop') as { ancestors: { ancestorRef: unknown; controllerName: string; conditions: { observedGeneration: number }[] }[] };
    assert.deepEqual(status.ancestors[0]!.ancestorRef, svcTarget);
    assert.equal(status.ancestors[0]!.controllerName, MESH_CONTROLLER_NAME);
    assert.equal(status.ancestors[0]!.conditions[0]!.observedGeneration, 3);
  });

  test('a Pod selector target resolves to the matching meshed pods\' IPs, on every port', () => {
    const r = translate([ap('ratings', { targetRefs: [{ group: '', kind: 'Pod', selector: { matchLabels: { app: 'ratings' } } }], rules: [{ sources: [{ type: 'ServiceAccount', serviceAccount: { name: 'reviews' } }] }] })]);
    assert.deepEqual(r.ir.policies[0]!.endpoints, [{ address: '10.1.0.9', port: 0, namespace: 'shop', podName: 'ratings-0' }]);
  });

  test('bad input is reported in status and never applied; the valid policies still are', () => {
    const r = translate([
      ap('missing', { targetRefs: [{ group: '', kind: 'Service', name: 'ghost' }], rules: [] }),
      ap('deny', { targetRefs: [svcTarget], action: 'DENY', rules: [] }),
      ap('bad-source', { targetRefs: [svcTarget], rules: [{ sources: [{ type: 'SPIFFE', spiffe: 'http://evil' }] }] }),
      ap('bad-kind', { targetRefs: [{ group: 'apps', kind: 'Deployment', name: 'reviews' }], rules: [] }),
      ap('no-targets', { rules: [] }),
      ap('good', { targetRefs: [svcTarget], rules: [{ sources: [{ type: 'ServiceAccount', serviceAccount: { name: 'productpage' } }] }] }),
    ]);
    assert.deepEqual(accepted(r, 'missing'), ['False/TargetNotFound']);
    assert.deepEqual(accepted(r, 'deny'), ['False/Invalid']);
    assert.deepEqual(accepted(r, 'bad-source'), ['False/Invalid']);
    assert.deepEqual(accepted(r, 'bad-kind'), ['False/Invalid']);
    assert.deepEqual(accepted(r, 'no-targets'), ['False/Invalid']);
    assert.match(JSON.stringify(f.statusOf(r, 'AuthorizationPolicy', 'bad-source', 'shop')), /is not a SPIFFE ID/);
    // Invalid rules or action: not in the table at all. A target that cannot be resolved governs
    // nothing (the policy stays, with no endpoints, so a later Service is picked up at once).
    assert.deepEqual(r.ir.policies.map((p) => [p.name, p.endpoints.length]), [['authorizationpolicy/shop/bad-kind', 0], ['authorizationpolicy/shop/good', 2], ['authorizationpolicy/shop/missing', 0]]);
  });
});
