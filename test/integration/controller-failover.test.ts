// Two controllers against one fake apiserver: only the Lease holder writes statuses; when it
// stops (releasing the Lease) or vanishes (Lease left to expire) the other takes over and keeps
// statuses current.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/wait-for.ts';
import { controllerFor, fakeCluster, GW, routeConds, statusWrites, type TestController } from './controller-harness.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const MESH = 'meshlet.dev/mesh-controller cart';

async function pair(): Promise<{ api: Awaited<ReturnType<typeof fakeCluster>>; a: TestController; b: TestController }> {
  const api = await fakeCluster();
  cleanup.push(() => api.close());
  const a = controllerFor(api, 'a');
  cleanup.push(() => a.close());
  await waitFor('a leads', () => a.elector?.isLeader);
  const b = controllerFor(api, 'b');
  cleanup.push(() => b.close());
  await waitFor('b translated', () => b.translations > 0);
  return { api, a, b };
}

function breakRoute(api: Awaited<ReturnType<typeof fakeCluster>>, backend: string): void {
  const route = api.get(GW, 'HTTPRoute', 'cart-mesh', 'shop')!;
  api.update({ ...route, spec: { ...route.spec as object, rules: [{ backendRefs: [{ name: backend, port: 80 }] }] } });
}

const resolvedReason = (api: Awaited<ReturnType<typeof fakeCluster>>): string | undefined => routeConds(api, 'cart-mesh')[MESH]?.find((c) => c.type === 'ResolvedRefs')?.reason;

test('only the leader writes; a released Lease moves writing to the other replica', async () => {
  const { api, a, b } = await pair();
  await waitFor('statuses written by a', () => routeConds(api, 'cart-mesh')[MESH]);
  await a.writer.idle();
  assert.equal(b.writer.stats.writes, 0, 'the follower wrote nothing');
  assert.ok(!b.elector?.isLeader);

  await a.close(); // SIGTERM path: releases the Lease
  await waitFor('b leads', () => b.elector?.isLeader, { timeoutMs: 3000 });
  const mark = api.requests.length;
  breakRoute(api, 'missing-a');
  await waitFor('b wrote the new status', () => resolvedReason(api) === 'BackendNotFound', { describe: () => b.logs.join('\n') });
  // The writer counts a write when its response arrives, a moment after the fake API holds it.
  await waitFor('b counted its write', () => b.writer.stats.writes > 0, { timeoutMs: 2000 });
  assert.ok(statusWrites(api, mark) > 0);
});

test('a vanished leader (Lease not released) is replaced after the lease duration', async () => {
  const { api, a, b } = await pair();
  await waitFor('statuses written by a', () => routeConds(api, 'cart-mesh')[MESH]);
  // Crash: the elector stops without releasing, the writer stops, the informers stop.
  await a.elector!.stop({ release: false });
  a.provider.close();
  const crashed = Date.now();
  breakRoute(api, 'missing-b');
  await waitFor('b leads', () => b.elector?.isLeader, { timeoutMs: 4000 });
  assert.ok(Date.now() - crashed >= 700, 'b waited for the Lease to expire');
  await waitFor('b wrote the status a missed', () => resolvedReason(api) === 'BackendNotFound', { describe: () => b.logs.join('\n') });
  assert.equal(a.writer.stats.writes > 0, true);
});
