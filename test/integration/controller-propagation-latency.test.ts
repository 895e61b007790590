// meshlet_controller_propagation_seconds with a real Publisher and two sidecars fed by
// ControllerClients in process: a table change is observed once both agents acknowledged it,
// as a histogram that parses as Prometheus text; a table no agent's slice holds is not.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Publisher } from '../../controller/publish/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { eventually, reviewsTable, startAgent, startPublisher, type MeshAgent } from './distribution-world.ts';
import { parsePrometheus as parse } from '../support/prometheus-text.ts';

const dest = { address: '10.96.0.10', port: 80 };


function histogram(pub: Publisher): { count: number; sum: number; buckets: [string, number][] } {
  const samples = parse(pub.renderMetrics());
  const one = (n: string): number => {
    const s = samples.filter((x) => x.name === n);
    assert.equal(s.length, 1, n);
    return s[0]!.value;
  };
  const buckets = samples.filter((s) => s.name === 'meshlet_controller_propagation_seconds_bucket').map((s): [string, number] => [s.labels.le!, s.value]);
  return { count: one('meshlet_controller_propagation_seconds_count'), sum: one('meshlet_controller_propagation_seconds_sum'), buckets };
}

let v1: EchoServer;
let v2: EchoServer;
let pub: Publisher;
const agents: MeshAgent[] = [];

before(async () => {
  v1 = await startEchoServer({ pod: 'reviews-v1-0', namespace: 'default' });
  v2 = await startEchoServer({ pod: 'reviews-v2-0', namespace: 'default' });
  pub = await startPublisher();
  pub.setTable(reviewsTable('v1', { v1: v1.port, v2: v2.port }));
});
after(async () => {
  for (const a of agents) await a.close();
  await pub.close();
  await v1.close();
  await v2.close();
});

test('a route change is observed once every agent that holds it acknowledged it', async () => {
  const url = `ws://127.0.0.1:${pub.port}`;
  for (const pod of ['client-a', 'client-b']) {
    const a = await startAgent({ url, pod, dest });
    agents.push(a);
    assert.equal((await a.get()).echo?.pod, 'reviews-v1-0', 'subscribed on demand, routed by v1');
  }
  const before = histogram(pub);
  const route = { kind: 'HTTPRoute', namespace: 'default', name: 'reviews' };
  await eventually('both agents acknowledged v1', () => pub.propagation(route).upToDate === 2);

  pub.setTable(reviewsTable('v2', { v1: v1.port, v2: v2.port }));
  await eventually('both agents acknowledged v2', () => pub.propagation(route).upToDate === 2);
  await eventually('the propagation observed', () => histogram(pub).count === before.count + 1);
  const h = histogram(pub);
  assert.ok(h.sum > before.sum && h.sum - before.sum < 5, `a loopback propagation takes well under 5 s (${h.sum - before.sum} s)`);
  assert.equal(h.buckets.at(-1)![0], '+Inf');
  assert.equal(h.buckets.at(-1)![1], h.count);
  for (let i = 1; i < h.buckets.length; i++) assert.ok(h.buckets[i]![1] >= h.buckets[i - 1]![1], 'cumulative buckets');
  for (const a of agents) assert.equal((await a.get()).echo?.pod, 'reviews-v2-0');

  // A service no agent subscribed to changes: nobody to wait for, nothing observed.
  pub.setTable(reviewsTable('v2', { v1: v1.port, v2: v2.port }, 3));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(histogram(pub).count, h.count);
});
