// Leader election between candidates sharing a fake apiserver: one leader at a time, a clean
// hand-over on release, a takeover after expiry when the leader vanished, and a step-down when
// the leader cannot renew.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { LeaderElector } from './leader-election.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function server(): Promise<FakeApiServer> {
  const api = await startFakeApiServer({ gatewayApi: false });
  cleanup.push(() => api.close());
  return api;
}

function candidate(api: FakeApiServer, identity: string, events: string[]): LeaderElector {
  const e = new LeaderElector({
    client: kubeClientFor(api), namespace: 'meshlet-system', name: 'meshlet-controller', identity,
    leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100,
    onStartedLeading: () => events.push(`${identity} leads`), onStoppedLeading: () => events.push(`${identity} stops`),
  });
  cleanup.push(() => e.stop({ release: false }));
  return e;
}

const holder = (api: FakeApiServer): unknown => (api.get('coordination.k8s.io/v1', 'Lease', 'meshlet-controller', 'meshlet-system')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

test('one leader; release hands over at once; the lease records transitions', async () => {
  const api = await server();
  const events: string[] = [];
  const a = candidate(api, 'a', events).start();
  await waitFor('a leads', () => a.isLeader);
  const b = candidate(api, 'b', events).start();
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(!b.isLeader, 'b waits while a renews');
  const released = Date.now();
  await a.stop();
  await waitFor('b leads', () => b.isLeader);
  assert.ok(Date.now() - released < 900, 'released lease taken without waiting for expiry');
  assert.equal(holder(api), 'b');
  assert.deepEqual(events, ['a leads', 'a stops', 'b leads']);
});

test('a vanished leader is replaced after the lease duration', async () => {
  const api = await server();
  const events: string[] = [];
  const a = candidate(api, 'a', events).start();
  await waitFor('a leads', () => a.isLeader);
  const b = candidate(api, 'b', events).start();
  await new Promise((r) => setTimeout(r, 200));
  const crashed = Date.now();
  await a.stop({ release: false });
  await waitFor('b leads', () => b.isLeader, { timeoutMs: 4000 });
  assert.ok(Date.now() - crashed >= 700, 'b waited for the lease to expire');
  const lease = api.get('coordination.k8s.io/v1', 'Lease', 'meshlet-controller', 'meshlet-system')!;
  assert.equal((lease.spec as { leaseTransitions: number }).leaseTransitions, 1);
});

test('a leader that cannot renew within the deadline steps down', async () => {
  const api = await server();
  const events: string[] = [];
  const a = candidate(api, 'a', events).start();
  await waitFor('a leads', () => a.isLeader);
  api.injectFailure({ path: '/leases/meshlet-controller', code: 500, times: 1000 });
  await waitFor('a steps down', () => !a.isLeader, { timeoutMs: 3000 });
  assert.deepEqual(events, ['a leads', 'a stops']);
});
