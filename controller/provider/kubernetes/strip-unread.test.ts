import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { stripPod, stripUnread, transformFor } from './strip-unread.ts';

const meta = {
  name: 'reviews-0', namespace: 'shop', uid: 'u1', resourceVersion: '7', labels: { app: 'reviews', 'meshlet.dev/mesh': 'meshlet' },
  annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"a":1}', 'meshlet.dev/inject': 'true' },
  managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
};

test('any object: managedFields and the last-applied copy go, everything else stays', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } } as KubernetesObject;
  assert.deepEqual(stripUnread(svc), {
    apiVersion: 'v1', kind: 'Service', spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    metadata: { name: 'reviews-0', namespace: 'shop', uid: 'u1', resourceVersion: '7', labels: meta.labels, annotations: { 'meshlet.dev/inject': 'true' } },
  });
  const plain = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } };
  assert.equal(stripUnread(plain), plain, 'nothing to strip: the same object');
});

test('a Pod keeps only labels, service account and pod IPs of its spec and status', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: meta,
    spec: { serviceAccountName: 'reviews', containers: [{ name: 'app', image: 'x', env: [{ name: 'A', value: 'b' }] }], volumes: [{ name: 'v' }] },
    status: { phase: 'Running', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }], conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'app' }] },
  } as KubernetesObject;
  const out = stripPod(pod) as unknown as { metadata: Record<string, unknown>; spec: unknown; status: unknown };
  assert.deepEqual(out.spec, { serviceAccountName: 'reviews' });
  assert.deepEqual(out.status, { podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }] });
  assert.deepEqual(out.metadata.labels, meta.labels);
  assert.equal(out.metadata.managedFields, undefined);
  assert.deepEqual(stripPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {}, status: {} });
  assert.equal(transformFor('Pod'), stripPod);
  assert.equal(transformFor('Service'), stripUnread);
});
