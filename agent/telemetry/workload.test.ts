import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namespaceOfSpiffeId, workloadFromPodName } from './workload.ts';
import { telemetryConfigFromEnv } from './start-telemetry.ts';

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

test('a proxy names itself by the injector\'s workload, else by its pod name; OTEL_SERVICE_NAME renames traces only', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['the injector\'s name wins over the pod name', { MESHLET_WORKLOAD_NAME: 'backup', POD_NAME: 'backup-29412345-x2bqz' }, 'backup'],
    ['without it, the pod name without its suffixes', { POD_NAME: 'reviews-v1-7d9c8b6f4d-x2bqz' }, 'reviews-v1'],
    ['OTEL_SERVICE_NAME does not rename the metric workload', { POD_NAME: 'reviews-v1-7d9c8b6f4d-x2bqz', OTEL_SERVICE_NAME: 'reviews-svc' }, 'reviews-v1'],
    ['no pod at all: the role', {}, 'meshlet-sidecar'],
  ];
  for (const [name, env, want] of cases) assert.equal(telemetryConfigFromEnv('sidecar', env, {}, 0.01, () => undefined).self.name, want, name);
});
