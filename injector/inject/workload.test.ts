import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from './types.ts';
import { workloadOf, type TemplateOwner } from './workload.ts';

const owned = (generateName: string, kind: string, name: string, labels: Record<string, string> = {}, controller: unknown = true): Pod => ({
  metadata: { generateName, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Other', name: 'not-the-controller' }, { apiVersion: 'apps/v1', kind, name, controller }] },
  spec: { containers: [{ name: 'app' }] },
});
const named = (name: string): Pod => ({ metadata: { name }, spec: { containers: [{ name: 'app' }] } });

test('the workload of a pod at admission, as Istio derives it', () => {
  const cases: [string, Pod, string | null][] = [
    ['Deployment: the ReplicaSet name without its pod-template-hash', owned('reviews-v1-7d9c8b6f4d-', 'ReplicaSet', 'reviews-v1-7d9c8b6f4d', { 'pod-template-hash': '7d9c8b6f4d' }), 'reviews-v1'],
    ['a bare ReplicaSet (no matching hash label) is the workload', owned('web-', 'ReplicaSet', 'web', { 'pod-template-hash': 'zzz' }), 'web'],
    ['DaemonSet', owned('fluentd-', 'DaemonSet', 'fluentd'), 'fluentd'],
    ['Job', owned('migrate-', 'Job', 'migrate'), 'migrate'],
    ['a CronJob\'s Job: the CronJob', owned('backup-29412345-', 'Job', 'backup-29412345'), 'backup'],
    ['a Job whose suffix is not a schedule time stays itself', owned('load-1234-', 'Job', 'load-1234'), 'load-1234'],
    ['a custom controller: its name', owned('runner-', 'Workflow', 'runner'), 'runner'],
    ['only the controller reference counts', owned('x-', 'ReplicaSet', 'x', {}, false), null],
    ['StatefulSet pods are named: left to the agent, which keeps the ordinal', { ...named('db-0'), metadata: { name: 'db-0', ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }] } }, null],
    ['a bare pod', named('debug-bcdfg'), 'debug-bcdfg'],
    ['nothing names it', { spec: { containers: [{ name: 'app' }] } }, null],
    ['malformed owner references are ignored', { metadata: { generateName: 'a-', ownerReferences: 'nope' }, spec: { containers: [{ name: 'app' }] } }, null],
  ];
  for (const [name, pod, want] of cases) assert.equal(workloadOf(pod), want, name);
});

test('a pod template from a manifest belongs to the object holding it, a StatefulSet\'s to each pod', () => {
  const cases: [TemplateOwner, string | null][] = [
    [{ kind: 'Deployment', name: 'reviews-v1' }, 'reviews-v1'],
    [{ kind: 'CronJob', name: 'backup' }, 'backup'],
    [{ kind: 'Job', name: 'migrate' }, 'migrate'],
    [{ kind: 'StatefulSet', name: 'db' }, null],
    [{ kind: 'Deployment', name: '' }, null],
  ];
  for (const [owner, want] of cases) assert.equal(workloadOf({ spec: { containers: [{ name: 'app' }] } }, owner), want, `${owner.kind}/${owner.name}`);
});
