// A replica's propagation record on a fake apiserver: written when its agents' acks change, at
// most once per interval however often they do, renewed when nothing changes, recreated after
// someone deleted it, deleted on an orderly stop; and read back by another replica's reader.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import type { AgentAck } from './ack-record.ts';
import { AckLeaseReader } from './ack-lease-reader.ts';
import { ACK_LEASE_ANNOTATION, AckLeaseWriter, ackLeaseName } from './ack-lease-writer.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const NS = 'meshlet-system';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/meshlet-system/leases';

async function server(): Promise<FakeApiServer> {
  const api = await startFakeApiServer({ gatewayApi: false });
  cleanup.push(() => api.close());
  return api;
}

const writesTo = (api: FakeApiServer, since = 0): number => api.requests.slice(since).filter((r) => (r.method === 'PUT' || r.method === 'POST') && r.path.startsWith(LEASES)).length;

function writer(api: FakeApiServer, agents: () => AgentAck[], timings: { renewMs: number; minWriteIntervalMs: number }): AckLeaseWriter {
  const w = new AckLeaseWriter({ client: kubeClientFor(api), namespace: NS, identity: 'meshlet-controller-7c9f-x2x', agents, ...timings });
  cleanup.push(() => w.stop());
  return w.start();
}

const ack = (n: number): AgentAck[] => Array.from({ length: n }, (_, i) => ({ agent: `shop/pod-${i}`, routes: new Map([['HTTPRoute/shop/cart', 'f1']]), upToDate: true }));

test('acks changing 100 times in 500 ms make at most one write per interval; an unchanged record is only renewed', async () => {
  const api = await server();
  let n = 1;
  const w = writer(api, () => ack(n), { renewMs: 10_000, minWriteIntervalMs: 100 });
  await waitFor('the record exists', () => api.get('coordination.k8s.io/v1', 'Lease', ackLeaseName('meshlet-controller-7c9f-x2x'), NS));
  const mark = api.requests.length;
  const started = Date.now();
  for (let i = 0; i < 100; i++) {
    n = 2 + i;
    w.changed();
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 250));
  const elapsed = Date.now() - started;
  const writes = writesTo(api, mark);
  assert.ok(writes >= 2 && writes <= Math.ceil(elapsed / 100) + 1, `${writes} writes in ${elapsed} ms`);
  const lease = api.get('coordination.k8s.io/v1', 'Lease', w.name, NS)!;
  assert.equal(lease.metadata.labels?.['meshlet.dev/propagation-acks'], 'true');
  assert.ok((lease.metadata.annotations?.[ACK_LEASE_ANNOTATION] ?? '').length > 0);

  // Nothing changes: changed() calls write nothing (renewal is 10 s away).
  const quiet = api.requests.length;
  for (let i = 0; i < 20; i++) w.changed();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(writesTo(api, quiet), 0);
});

test('an unchanged record is renewed every renewMs; one deleted by a leader is recreated; stop() deletes it', async () => {
  const api = await server();
  const w = writer(api, () => ack(3), { renewMs: 150, minWriteIntervalMs: 50 });
  await waitFor('the record exists', () => api.get('coordination.k8s.io/v1', 'Lease', w.name, NS));
  const mark = api.requests.length;
  await new Promise((r) => setTimeout(r, 700));
  const renewals = writesTo(api, mark);
  assert.ok(renewals >= 3 && renewals <= 6, `${renewals} renewals in 700 ms at 150 ms`);

  api.delete('coordination.k8s.io/v1', 'Lease', w.name, NS);
  await waitFor('recreated', () => api.get('coordination.k8s.io/v1', 'Lease', w.name, NS), { timeoutMs: 2000 });

  await w.stop();
  assert.equal(api.get('coordination.k8s.io/v1', 'Lease', w.name, NS), undefined);
});

test('a reader sees another replica\'s agents, skips its own record and an unreadable one, and drops a stale one', async () => {
  const api = await server();
  writer(api, () => ack(2), { renewMs: 100, minWriteIntervalMs: 50 });
  const own = new AckLeaseWriter({ client: kubeClientFor(api), namespace: NS, identity: 'self', agents: () => ack(5), renewMs: 100, minWriteIntervalMs: 50 }).start();
  cleanup.push(() => own.stop());
  api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'meshlet-acks-garbled', namespace: NS, labels: { 'meshlet.dev/propagation-acks': 'true' }, annotations: { [ACK_LEASE_ANNOTATION]: 'not a record' } } });
  const logs: string[] = [];
  let leading = false;
  const reader = new AckLeaseReader({ client: kubeClientFor(api), namespace: NS, ownName: own.name, pollMs: 30, staleAfterMs: 400, leading: () => leading, onChange: () => undefined, log: (l) => logs.push(l) }).start();
  cleanup.push(() => reader.stop());
  await waitFor('both records read', () => reader.live().length === 2 && reader.records().some((r) => r.length === 2));
  assert.deepEqual(reader.live(), ['meshlet-acks-garbled', ackLeaseName('meshlet-controller-7c9f-x2x')]);
  assert.deepEqual(reader.records().map((r) => r.length).sort(), [0, 2], 'the garbled record counts no agent; our own is not read');
  assert.ok(logs.some((l) => l.includes('meshlet-acks-garbled') && l.includes('not counted')), logs.join('\n'));

  // The garbled record is never renewed: stale after 400 ms, deleted once this replica leads.
  await waitFor('garbled record stale', () => !reader.live().includes('meshlet-acks-garbled'), { timeoutMs: 2000 });
  assert.ok(api.get('coordination.k8s.io/v1', 'Lease', 'meshlet-acks-garbled', NS), 'a follower deletes nothing');
  leading = true;
  await waitFor('the leader deleted it', () => !api.get('coordination.k8s.io/v1', 'Lease', 'meshlet-acks-garbled', NS), { timeoutMs: 2000 });
  assert.deepEqual(reader.live(), [ackLeaseName('meshlet-controller-7c9f-x2x')], 'the renewed record stays');
});

test('a reader tells of a record\'s changes, not of its renewals (statuses are not re-compared every renewal)', async () => {
  const api = await server();
  let n = 2;
  const w = writer(api, () => ack(n), { renewMs: 50, minWriteIntervalMs: 20 });
  let changes = 0;
  const reader = new AckLeaseReader({ client: kubeClientFor(api), namespace: NS, ownName: 'meshlet-acks-self', pollMs: 20, staleAfterMs: 5_000, leading: () => true, onChange: () => void changes++ }).start();
  cleanup.push(() => reader.stop());
  await waitFor('read', () => reader.records()[0]?.length === 2);
  const mark = api.requests.length;
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(writesTo(api, mark) >= 4, 'the writer renewed meanwhile');
  assert.equal(changes, 1, 'only the first read was a change');
  n = 3;
  w.changed();
  await waitFor('the new agent read', () => reader.records()[0]?.length === 3);
  assert.equal(changes, 2);
});
