import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namespaceOfSpiffeId, workloadFromPodName } from './workload.ts';

test('the workload is the pod name without the generated suffixes', () => {
  const cases: [string, string][] = [
    ['reviews-v1-7d9c8b6f4d-x2bqz', 'reviews-v1'], // Deployment → ReplicaSet → pod
    ['fluentd-k8w4z', 'fluentd'], // DaemonSet / bare ReplicaSet
    ['redis-0', 'redis-0'], // StatefulSet: the ordinal is the identity
    ['standalone', 'standalone'],
    ['my-app-aeiou', 'my-app-aeiou'], // vowels are never generated: not a suffix
  ];
  for (const [pod, want] of cases) assert.equal(workloadFromPodName(pod), want, pod);
});

test('a SPIFFE ID gives its namespace; anything else gives nothing', () => {
  assert.equal(namespaceOfSpiffeId('spiffe://cluster.local/ns/shop/sa/web'), 'shop');
  assert.equal(namespaceOfSpiffeId('spiffe://cluster.local/other'), '');
});
