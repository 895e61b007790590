// Distribution when things go wrong: a table the agents refuse (nack with the reason, logged
// and counted by the controller, last good table kept), and a controller restart (agents keep
// serving, reconnect with backoff, resync their subscriptions in the hello, follow the new
// controller's table).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutingTable } from '../../api/routing-table.ts';
import { withVersion } from '../../api/version.ts';
import type { Publisher } from '../../controller/publish/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { eventually, reviewsTable, startAgent, startPublisher, type MeshAgent } from './distribution-world.ts';

const dest = { address: '10.96.0.10', port: 80 };
const route = { kind: 'HTTPRoute', namespace: 'default', name: 'reviews' };

/** A table whose only defect is a rule pointing at a backend it does not define (hash intact). */
function danglingTable(good: RoutingTable): RoutingTable {
  const { version: _v, ...rest } = structuredClone(good);
  const rule = rest.services[0]!.ports[0]!.producer!.virtualHosts[0]!.rules[0]!;
  if (rule.action.type === 'Forward') rule.action.backends[0]!.backend = 'service/default/nowhere/80';
  return withVersion(rest);
}

describe('distribution: failures', () => {
  let v1: EchoServer;
  let v2: EchoServer;
  let pub: Publisher;
  let port = 0;
  const logs: string[] = [];
  const agents: MeshAgent[] = [];
  const ports = (): { v1: number; v2: number } => ({ v1: v1.port, v2: v2.port });

  before(async () => {
    v1 = await startEchoServer({ pod: 'reviews-v1-0', namespace: 'default' });
    v2 = await startEchoServer({ pod: 'reviews-v2-0', namespace: 'default' });
    pub = await startPublisher(0, logs);
    port = pub.port;
    pub.setTable(reviewsTable('v1', ports()));
    for (const pod of ['client-a', 'client-b']) agents.push(await startAgent({ url: `ws://127.0.0.1:${port}`, pod, dest }));
    for (const a of agents) assert.equal((await a.get()).echo?.pod, 'reviews-v1-0');
    await eventually('both agents ack', () => pub.propagation(route).upToDate === 2);
  });
  after(async () => {
    for (const a of agents) await a.close();
    await pub.close();
    await v1.close();
    await v2.close();
  });

  test('a table the agents refuse: nack with the reason, logged and counted; traffic stays on the last good table', async () => {
    const nacks = pub.metrics().nacksTotal;
    const bad = danglingTable(reviewsTable('v2', ports()));
    pub.setTable(bad);
    await eventually('both agents nack', () => pub.metrics().nacksTotal === nacks + 2);
    const refused = pub.agents().map((s) => s.lastNack);
    for (const n of refused) assert.match(n?.reason ?? '', /unknown backend 'service\/default\/nowhere\/80'/);
    for (const pod of ['client-a', 'client-b']) {
      assert.ok(logs.some((l) => l.includes(`default/${pod}`) && l.includes('refused routing table') && l.includes('nowhere')), logs.join('\n'));
    }
    assert.deepEqual(pub.propagation(route), { upToDate: 0, total: 2, generation: pub.generation });
    for (const a of agents) {
      assert.equal((await a.get()).echo?.pod, 'reviews-v1-0', 'still on the last good table');
      assert.ok(a.logs.some((l) => l.includes('refusing routing table')));
      assert.equal(a.client.stats.nacks, 1);
    }
    // The fix reaches them and is acknowledged.
    pub.setTable(reviewsTable('v2', ports()));
    for (const a of agents) await eventually(`${a.pod} on v2`, async () => (await a.get()).echo?.pod === 'reviews-v2-0');
    await eventually('both agents ack the fix', () => pub.propagation(route).upToDate === 2);
  });

  test('controller restart: agents keep serving, reconnect, resync their subscriptions and follow the new table', async () => {
    await pub.close();
    await eventually('agents notice', () => agents.every((a) => !a.client.connected));
    for (const a of agents) {
      for (let i = 0; i < 3; i++) assert.equal((await a.get(`/away-${i}`)).echo?.pod, 'reviews-v2-0', 'serving the last good table');
    }
    // Stay away long enough for several reconnect attempts to fail.
    await new Promise((r) => setTimeout(r, 400));
    const fresh: string[] = [];
    pub = await startPublisher(port, fresh);
    pub.setTable(reviewsTable('v1', ports()));
    await eventually('both agents reconnect', () => agents.every((a) => a.client.connected) && pub.agents().length === 2);
    // The hello carried the destination: the new controller knows it without a new request.
    for (const s of pub.agents()) assert.equal(s.subscriptions, 1);
    assert.equal(pub.metrics().subscribeRequestsTotal, 0);
    for (const a of agents) await eventually(`${a.pod} follows the new controller`, async () => (await a.get()).echo?.pod === 'reviews-v1-0');
    await eventually('both ack', () => pub.propagation(route).upToDate === 2);
    for (const a of agents) assert.ok(a.client.stats.connects >= 2);
  });
});
