// Two controller replicas against one fake apiserver, each with its own publisher, and real
// sidecars split over them: the leader's `meshlet.dev/Propagated` counts every replica's agents
// (each replica publishes its agents' acks on a Lease of its own). A replica that vanishes stops
// being counted within the bound, its record is deleted, and its agents, once they reach the
// survivor, are counted again, never twice.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer, type FakeObject } from '../support/fake-apiserver/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { switchableService } from '../support/switchable-service.ts';
import { waitFor } from '../support/wait-for.ts';
import { ACK_LEASE_LABEL, ackLeaseName } from '../../controller/status/index.ts';
import { GW, routeConds, twoReplicas, type TwoReplicas } from './controller-harness.ts';
import { startAgent, type MeshAgent } from './distribution-world.ts';

const dest = { address: '10.96.0.20', port: 9080 };
const KEY = 'meshlet.dev/mesh-controller reviews';
const STALE_MS = 800;
const REPLICA_ACKS = { renewMs: 200, staleAfterMs: STALE_MS, pollMs: 50, minWriteIntervalMs: 50 };

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function objects(port: number): FakeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'default' }, spec: { clusterIP: dest.address, ports: [{ name: 'http', port: 9080, targetPort: port, protocol: 'TCP' }] } },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'reviews-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'reviews' } },
      addressType: 'IPv4', ports: [{ name: 'http', port, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] },
    { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'reviews', namespace: 'default' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }], rules: [{ backendRefs: [{ name: 'reviews', port: 9080 }] }] } },
  ];
}

interface World extends TwoReplicas {
  api: FakeApiServer;
  echo: EchoServer;
  agents: MeshAgent[];
}

async function world(): Promise<World> {
  const echo = await startEchoServer({ pod: 'reviews-0', namespace: 'default' });
  cleanup.push(() => echo.close());
  const api = await startFakeApiServer({ objects: objects(echo.port) });
  cleanup.push(() => api.close());
  const { a, b, pubA, pubB } = await twoReplicas(api, REPLICA_ACKS, cleanup);
  return { api, a, b, pubA, pubB, echo, agents: [] };
}

async function agentVia(w: World, url: string, pod: string): Promise<MeshAgent> {
  const agent = await startAgent({ url, pod, dest });
  cleanup.push(() => agent.close());
  w.agents.push(agent);
  // The first request subscribes the agent to reviews: its slice then holds the route.
  assert.equal((await agent.get()).echo?.pod, 'reviews-0');
  return agent;
}

const propagated = (api: FakeApiServer): string | undefined =>
  (routeConds(api, 'reviews', 'default')[KEY]?.find((c) => c.type === 'meshlet.dev/Propagated') as { message?: string } | undefined)?.message;

/** Every Propagated message written while it runs: the count must never claim more proxies than exist. */
function watchCounts(api: FakeApiServer): { totals: Set<number>; stop(): void } {
  const totals = new Set<number>();
  const timer = setInterval(() => {
    const m = /^(\d+)\/(\d+) proxies/.exec(propagated(api) ?? '');
    if (m) totals.add(Number(m[2]));
  }, 10);
  cleanup.push(() => clearInterval(timer));
  return { totals, stop: () => clearInterval(timer) };
}

const leases = (api: FakeApiServer): string[] => api.list('coordination.k8s.io/v1', 'Lease').filter((l) => l.metadata.labels?.[ACK_LEASE_LABEL] === 'true').map((l) => l.metadata.name).sort();

test('agents split over two replicas: the leader counts all of them; a vanished replica drops out within the bound and its agents count again from the survivor, never twice', async () => {
  const w = await world();
  const { api, a, b, pubA, pubB } = w;
  const svc = await switchableService();
  cleanup.push(() => svc.close());
  svc.target = pubB.port;
  await agentVia(w, `ws://127.0.0.1:${pubA.port}`, 'client-a1');
  await agentVia(w, `ws://127.0.0.1:${pubA.port}`, 'client-a2');
  await agentVia(w, `ws://127.0.0.1:${svc.port}`, 'client-b1');
  await agentVia(w, `ws://127.0.0.1:${svc.port}`, 'client-b2');
  assert.equal(pubA.agents().length, 2);
  assert.equal(pubB.agents().length, 2);
  const counts = watchCounts(api);
  const describe = (): string => `${propagated(api)}\n${[...a.logs, ...b.logs].join('\n')}`;
  await waitFor('the leader counts the 4 proxies of both replicas', () => propagated(api)?.startsWith('4/4 proxies'), { describe });
  assert.ok(a.elector?.isLeader && !b.elector?.isLeader, 'a writes statuses, b does not');
  assert.deepEqual(leases(api), [ackLeaseName('a'), ackLeaseName('b')]);
  assert.match(a.metrics(), /^meshlet_controller_propagation_replicas 2$/m);

  // b vanishes: no Lease release, no record deletion; its agents cannot reach any controller.
  svc.target = null;
  await b.elector!.stop({ release: false });
  await b.replicaAcks!.stop({ release: false });
  b.provider.close();
  await pubB.close();
  const gone = Date.now();
  await waitFor('the count drops to the survivor\'s own agents', () => propagated(api)?.startsWith('2/2 proxies'), { timeoutMs: 5000, describe });
  const took = Date.now() - gone;
  assert.ok(took >= STALE_MS * 0.9, `not before the record went stale (${took} ms)`);
  assert.ok(took < STALE_MS + 1500, `within the bound plus a read and a write (${took} ms)`);
  await waitFor('the leader deleted the stale record', () => leases(api).join() === ackLeaseName('a'), { describe: () => leases(api).join() });
  assert.match(a.metrics(), /^meshlet_controller_propagation_replicas 1$/m);
  assert.match(a.metrics(), /^meshlet_controller_propagation_record_writes_total [1-9]\d*$/m);

  // The Service now leads to the survivor: b's agents reconnect there and are counted again.
  svc.target = pubA.port;
  await waitFor('b\'s agents reconnected to a', () => pubA.agents().length === 4, { timeoutMs: 5000 });
  await waitFor('4/4 again, from the survivor', () => propagated(api)?.startsWith('4/4 proxies'), { describe });
  counts.stop();
  assert.ok(Math.max(...counts.totals) <= 4, `never more than 4 proxies counted: ${[...counts.totals].join(', ')}`);
  assert.ok(counts.totals.has(2) && counts.totals.has(4), [...counts.totals].join(', '));
});

test('an agent that moved is not counted twice while the replica it left still has a fresh record', async () => {
  const w = await world();
  const { api, a, b, pubA, pubB } = w;
  const svc = await switchableService();
  cleanup.push(() => svc.close());
  svc.target = pubB.port;
  await agentVia(w, `ws://127.0.0.1:${pubA.port}`, 'client-a1');
  await agentVia(w, `ws://127.0.0.1:${svc.port}`, 'client-b1');
  const describe = (): string => `${propagated(api)}\n${[...a.logs, ...b.logs].join('\n')}`;
  await waitFor('2/2 over both replicas', () => propagated(api)?.startsWith('2/2 proxies'), { describe });
  const counts = watchCounts(api);
  // b freezes (its record is neither renewed nor updated) while its agent moves to a: until the
  // record goes stale it still names the agent, which a now serves too.
  await b.replicaAcks!.stop({ release: false });
  svc.target = pubA.port;
  await pubB.close();
  await waitFor('the agent reconnected to a', () => pubA.agents().length === 2, { timeoutMs: 5000 });
  await new Promise((r) => setTimeout(r, STALE_MS / 2)); // b's record is still fresh here
  assert.ok(a.replicaAcks!.reader.live().includes(ackLeaseName('b')), 'b\'s record is still counted');
  await waitFor('the status was rewritten after the move', () => propagated(api)?.startsWith('2/2 proxies'), { describe });
  counts.stop();
  assert.deepEqual([...counts.totals], [2], 'the moved agent is counted once');
});

test('a replica shut down in order deletes its record: it stops being counted without waiting for the bound', async () => {
  const w = await world();
  const { api, a, b, pubA, pubB } = w;
  await agentVia(w, `ws://127.0.0.1:${pubA.port}`, 'client-a1');
  await agentVia(w, `ws://127.0.0.1:${pubB.port}`, 'client-b1');
  const describe = (): string => `${propagated(api)}\n${[...a.logs, ...b.logs].join('\n')}`;
  await waitFor('2/2 over both replicas', () => propagated(api)?.startsWith('2/2 proxies'), { describe });
  const stopped = Date.now();
  await b.close();
  await pubB.close();
  assert.deepEqual(leases(api), [ackLeaseName('a')], 'b deleted its record');
  await waitFor('1/1', () => propagated(api)?.startsWith('1/1 proxies'), { describe });
  assert.ok(Date.now() - stopped < STALE_MS, `counted out in ${Date.now() - stopped} ms, before the record could go stale`);
});
