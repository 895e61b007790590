// Distribution end to end on loopback: a real Publisher, sidecars fed by ControllerClients and
// echo servers as workloads. A table change reaches both agents and changes their traffic; the
// first request to a destination waits for its on-demand subscription, later ones do not ask
// again; endpoint churn travels as a patch; a sidecar of a 1 000-Service mesh holds only the
// one frontend it uses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Publisher } from '../../controller/publish/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { eventually, reviewsTable, startAgent, startPublisher, type MeshAgent } from './distribution-world.ts';

const dest = { address: '10.96.0.10', port: 80 };
const route = { kind: 'HTTPRoute', namespace: 'default', name: 'reviews' };
const serviceNames = (a: MeshAgent): string[] => (a.client.current?.services ?? []).map((s) => s.name);

describe('distribution: controller publisher and two sidecars', () => {
  let v1: EchoServer;
  let v2: EchoServer;
  let pub: Publisher;
  const agents: MeshAgent[] = [];
  let url = '';
  const ports = (): { v1: number; v2: number } => ({ v1: v1.port, v2: v2.port });

  before(async () => {
    v1 = await startEchoServer({ pod: 'reviews-v1-0', namespace: 'default' });
    v2 = await startEchoServer({ pod: 'reviews-v2-0', namespace: 'default' });
    pub = await startPublisher();
    url = `ws://127.0.0.1:${pub.port}`;
    pub.setTable(reviewsTable('v1', ports()));
  });
  after(async () => {
    for (const a of agents) await a.close();
    await pub.close();
    await v1.close();
    await v2.close();
  });

  test('an agent starts with an empty slice and subscribes on demand: the first request waits, later ones use the cache', async () => {
    const a = await startAgent({ url, pod: 'client-a', dest });
    agents.push(a);
    assert.deepEqual(serviceNames(a), [], 'nothing is sent before the app calls anything');
    const before = pub.metrics().subscribeRequestsTotal;
    const first = await a.get('/first');
    assert.equal(first.status, 200);
    assert.equal(first.echo?.pod, 'reviews-v1-0', 'the first request was routed by the route it waited for');
    assert.equal(pub.metrics().subscribeRequestsTotal, before + 1);
    assert.equal(a.client.stats.onDemandTimeouts, 0);
    assert.deepEqual(serviceNames(a), ['service/default/reviews']);
    for (let i = 0; i < 3; i++) assert.equal((await a.get(`/again-${i}`)).echo?.pod, 'reviews-v1-0');
    assert.equal(pub.metrics().subscribeRequestsTotal, before + 1, 'later requests did not ask again');
  });

  test('a table change reaches both agents and changes their traffic; propagation counts them', async () => {
    const b = await startAgent({ url, pod: 'client-b', dest });
    agents.push(b);
    assert.equal((await b.get()).echo?.pod, 'reviews-v1-0');
    await eventually('both agents ack the v1 slice', () => pub.propagation(route).upToDate === 2);
    assert.equal(pub.propagation(route).total, 2);
    const genBefore = pub.propagation(route).generation;

    pub.setTable(reviewsTable('v2', ports()));
    for (const agent of agents) {
      await eventually(`${agent.pod} routes to v2`, async () => (await agent.get()).echo?.pod === 'reviews-v2-0');
    }
    await eventually('both agents ack the v2 slice', () => pub.propagation(route).upToDate === 2);
    const p = pub.propagation(route);
    assert.deepEqual([p.upToDate, p.total], [2, 2]);
    assert.ok(p.generation > genBefore, `generation ${p.generation} after ${genBefore}`);
    assert.deepEqual(pub.agents().map((s) => s.ackedVersion === s.sentVersion), [true, true]);
  });

  test('endpoint churn travels as a patch and the agents follow it', async () => {
    const v3 = await startEchoServer({ pod: 'reviews-v2-1', namespace: 'default' });
    try {
      const patches = pub.metrics().patchesSentTotal;
      pub.setTable(reviewsTable('v2', { v1: v1.port, v2: v3.port }));
      for (const agent of agents) {
        await eventually(`${agent.pod} reaches the moved endpoint`, async () => (await agent.get()).echo?.pod === 'reviews-v2-1');
        assert.ok(agent.client.stats.patches >= 1, `${agent.pod} received no patch`);
      }
      assert.equal(pub.metrics().patchesSentTotal, patches + agents.length);
      await eventually('both agents ack the patched version', () => pub.propagation(route).upToDate === 2);
      pub.setTable(reviewsTable('v2', ports()));
      for (const agent of agents) await eventually(`${agent.pod} back on v2`, async () => (await agent.get()).echo?.pod === 'reviews-v2-0');
    } finally {
      await v3.close();
    }
  });

  test('an agent subscribed to 1 Service of 1 000 holds a slice with 1 frontend', async () => {
    const big = reviewsTable('v1', ports(), 999);
    assert.equal(big.services.length, 1_000);
    pub.setTable(big);
    const c = await startAgent({ url, pod: 'client-c', dest });
    agents.push(c);
    assert.equal((await c.get()).echo?.pod, 'reviews-v1-0');
    const slice = c.client.current!;
    assert.equal(slice.services.length, 1);
    assert.deepEqual(slice.backends.map((x) => x.name), ['service/default/reviews-v1/80', 'service/default/reviews/80']);
    const sliceBytes = JSON.stringify(slice).length;
    const fullBytes = JSON.stringify(big).length;
    assert.ok(sliceBytes * 100 < fullBytes, `slice ${sliceBytes} B vs table ${fullBytes} B`);
    assert.equal(c.proxy.core.holder.current?.table.services.length, 1, 'the sidecar runs the slice, not the mesh');
  });

  test('unsubscribing drops the frontend from the agent\'s slice', async () => {
    const c = agents.find((a) => a.pod === 'client-c')!;
    c.client.unsubscribeTargets([{ kind: 'destination', address: dest.address, port: dest.port }]);
    await eventually('the slice is empty again', () => c.client.current?.services.length === 0);
    assert.equal(pub.agents().find((s) => s.pod === 'client-c')?.subscriptions, 0);
    assert.equal(pub.propagation(route).total, agents.length - 1);
  });
});
