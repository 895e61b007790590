// Leader election between candidates sharing a fake apiserver: one leader at a time, a clean
// hand-over on release, a takeover after expiry when the leader vanished, and a step-down when
// the leader cannot renew.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../provider/kubernetes/index.ts';
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

/** A client of its own (bearer token `token-<identity>`), so a failure can target one candidate. */
function clientOf(api: FakeApiServer, identity: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: api.url, skipTLSVerify: true }],
    users: [{ name: identity, token: `token-${identity}` }],
    contexts: [{ name: 'fake', cluster: 'fake', user: identity }],
    currentContext: 'fake',
  });
  return new KubeClient(kc, 2000);
}

function candidate(api: FakeApiServer, identity: string, events: string[], client = kubeClientFor(api)): LeaderElector {
  const e = new LeaderElector({
    client, namespace: 'meshlet-system', name: 'meshlet-controller', identity,
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
  // The lease would expire 1 000 ms after a's last renewal; b's retry period is 100 ms. A
  // release is taken on b's next retry; the margin absorbs a loaded machine's delays.
  assert.ok(Date.now() - released < 950, 'released lease taken without waiting for expiry');
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

test('a renewal slower than the renew deadline steps the leader down at the deadline, before anyone else may lead', async () => {
  const api = await server();
  const events: string[] = [];
  const a = candidate(api, 'a', events, clientOf(api, 'a')).start();
  await waitFor('a leads', () => a.isLeader);
  const b = candidate(api, 'b', events, clientOf(api, 'b')).start();
  await new Promise((r) => setTimeout(r, 150));
  // From now on a's requests hang past its renew deadline (600 ms), the lease duration (1 s) and
  // its client's own timeout (2 s); b's are answered at once, so b takes the lease once it expires.
  api.injectFailure({ path: '/leases/meshlet-controller', authorization: 'Bearer token-a', delayMs: 2500, times: 1000 });
  const slowed = Date.now();
  let both = false;
  const watch = setInterval(() => (both ||= a.isLeader && b.isLeader), 5);
  try {
    await waitFor('a steps down', () => !a.isLeader, { timeoutMs: 3000 });
    const steppedDown = Date.now() - slowed;
    assert.ok(steppedDown < 1000, `a stepped down ${steppedDown} ms after its renewals hung: within its renew deadline, not when the request ended`);
    await waitFor('b leads', () => b.isLeader, { timeoutMs: 4000 });
  } finally {
    clearInterval(watch);
  }
  assert.equal(both, false, 'never two leaders at once');
  assert.deepEqual(events, ['a leads', 'a stops', 'b leads']);
});

test('each request is given only the time left before the deadline (the slow one is abandoned)', async () => {
  const api = await server();
  const events: string[] = [];
  const logs: string[] = [];
  const e = new LeaderElector({
    client: kubeClientFor(api, 15_000), namespace: 'meshlet-system', name: 'meshlet-controller', identity: 'solo',
    leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100, log: (l) => void logs.push(l),
    onStartedLeading: () => events.push('leads'), onStoppedLeading: () => events.push('stops'),
  });
  cleanup.push(() => e.stop({ release: false }));
  e.start();
  await waitFor('leads', () => e.isLeader);
  api.injectFailure({ method: 'PUT', path: '/leases/meshlet-controller', delayMs: 1500, times: 1 });
  await waitFor('steps down', () => !e.isLeader, { timeoutMs: 3000 });
  // The client's own timeout is 15 s: only the deadline budget can have ended the request, and
  // the elector is campaigning again (and wins) once the apiserver answers promptly.
  await waitFor('leads again', () => e.isLeader, { timeoutMs: 4000 });
  assert.deepEqual(events, ['leads', 'stops', 'leads']);
  assert.ok(logs.some((l) => /stepping down/.test(l)), logs.join('\n'));
});
