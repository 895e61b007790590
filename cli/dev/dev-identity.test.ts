import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESHED_POD_LABEL } from '../../api/pod-annotations.ts';
import { generateRoot } from '../../controller/identity/index.ts';
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import { devCa, devPods, serviceAccountOf, workloadOf } from './dev-identity.ts';

test('a Deployment pod\'s workload drops the ReplicaSet hash and the pod suffix; other names stay', () => {
  const cases: [string, string][] = [
    ['reviews-v1-6f8b9-aaaaa', 'reviews-v1'],
    ['checkout-v2-5d8f7c9b4-xk2p9', 'checkout-v2'],
    ['web-0', 'web-0'],
    ['kiali', 'kiali'],
  ];
  for (const [pod, workload] of cases) assert.equal(workloadOf(pod), workload, pod);
});

test('dev pods are meshed; a Pod in the directory keeps its service account and labels', () => {
  const own = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ratings-v1-abcde-fghij', namespace: 'default', labels: { app: 'ratings' } }, spec: { serviceAccountName: 'bookinfo-ratings' } } as KubeObject;
  const pods = devPods([
    { namespace: 'default', pod: 'reviews-v1-6f8b9-aaaaa', address: '127.0.30.1', ports: [9080] },
    { namespace: 'default', pod: 'ratings-v1-abcde-fghij', address: '127.0.30.9', ports: [9080] },
  ], [own]);
  assert.deepEqual(pods.map((p) => [p.metadata.name, serviceAccountOf(p), p.metadata.labels?.[MESHED_POD_LABEL]]), [
    ['reviews-v1-6f8b9-aaaaa', 'reviews-v1', 'meshlet'],
    ['ratings-v1-abcde-fghij', 'bookinfo-ratings', 'meshlet'],
  ]);
  assert.equal(pods[1]!.metadata.labels?.app, 'ratings');
});

test('the directory\'s meshlet-system/meshlet-ca Secret is the CA when present', () => {
  const now = new Date();
  const root = generateRoot({ now, trustDomain: 'cluster.local' });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'meshlet-ca', namespace: 'meshlet-system' }, data: { 'ca.crt': b64(root.caPem), 'tls.crt': b64(root.certPem), 'tls.key': b64(root.keyPem) } } as KubeObject;
  const supplied = devCa([secret], now);
  assert.equal(supplied.source, 'Secret meshlet-system/meshlet-ca');
  assert.deepEqual(supplied.ca.rootsPem.map((p) => p.trim()), [root.caPem.trim()]);
  assert.equal(devCa([], now).source, 'generated for this run');
});
