// The watch loop against the fake apiserver (real HTTP, client-node's Watch underneath): quiet
// watches closed by the server or by the inactivity timer, bookmarks, 410 Gone, the transform.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer, type FakeObject } from '../../../test/support/fake-apiserver/index.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { kubeClientFor } from '../../../test/support/kube-client-for.ts';
import type { KubeClient } from './kube-client.ts';
import { WatchLoop } from './watch-loop.ts';
import { stripUnread } from './strip-unread.ts';

const svc = (name: string, extra: Partial<FakeObject['metadata']> = {}): FakeObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop', ...extra }, spec: { ports: [{ port: 80 }] },
});
const ns = (name: string): FakeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

interface Harness { api: FakeApiServer; client: KubeClient; loop: WatchLoop; events: string[]; errors: unknown[]; seen: Map<string, number> }
const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) {
    h.loop.stop();
    await h.api.close();
  }
});

async function harness(opts: Parameters<typeof startFakeApiServer>[0] = {}, inactivityMs?: number): Promise<Harness> {
  const api = await startFakeApiServer({ objects: [ns('shop'), svc('a')], ...opts });
  const client = kubeClientFor(api);
  if (inactivityMs !== undefined) (client.watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = inactivityMs;
  const events: string[] = [];
  const errors: unknown[] = [];
  const seen = new Map<string, number>();
  const note = (type: string) => (o: KubernetesObject): void => {
    events.push(`${type} ${o.metadata?.name}`);
    seen.set(`${type} ${o.metadata?.name}`, Date.now());
  };
  const path = '/api/v1/services';
  const loop = new WatchLoop({
    path, list: () => client.list<KubernetesObject>(path), watcher: client.watcher, transform: stripUnread,
    onAdd: note('add'), onUpdate: note('update'), onDelete: note('delete'), onError: (e) => errors.push(e),
  });
  await loop.start();
  const h = { api, client, loop, events, errors, seen };
  open.push(h);
  return h;
}

const watchRequests = (api: FakeApiServer): Record<string, string>[] => api.requests.filter((r) => r.query.watch === 'true').map((r) => r.query);

test('asks for bookmarks and resumes from the listed version', async () => {
  const h = await harness();
  assert.deepEqual(h.events, ['add a']);
  const [w] = watchRequests(h.api);
  assert.equal(w?.allowWatchBookmarks, 'true');
  assert.equal(w?.resourceVersion, String(h.api.store.resourceVersion));
});

test('a quiet watch the server closes is re-opened at once from the last version: an event right after arrives within 1 s, no relist', async () => {
  const h = await harness();
  await new Promise((r) => setTimeout(r, 1_100)); // a watch that lived a while: the server's normal rotation
  h.api.dropWatches();
  const created = Date.now();
  h.api.create(svc('b'));
  await waitFor('the new Service', () => h.seen.get('add b'), { timeoutMs: 3_000 });
  assert.ok(h.seen.get('add b')! - created <= 1_000, `delivered ${h.seen.get('add b')! - created} ms after the write`);
  assert.equal(h.loop.counters.lists, 1, 'resumed, not relisted');
  assert.deepEqual(h.errors, []);
});

test("client-node's inactivity timeout on a quiet watch is rotation: re-watched from the same version, no error, no relist", async () => {
  const h = await harness({}, 200);
  await waitFor('three watches', () => h.loop.counters.watches >= 3 || undefined, { timeoutMs: 3_000 });
  h.api.create(svc('b'));
  await waitFor('the new Service', () => h.seen.get('add b'));
  assert.deepEqual(h.errors, []);
  assert.equal(h.loop.counters.lists, 1);
});

test('a bookmark moves the resume version forward, so a watch closed after compaction resumes without a relist', async () => {
  const h = await harness({ bookmarkIntervalMs: 60_000 });
  h.api.create(ns('other')); // other kinds move the store's version; a Service watch sees no event
  h.api.create(ns('third'));
  const now = String(h.api.store.resourceVersion);
  assert.notEqual(h.loop.resourceVersion, now);
  h.api.sendBookmarks();
  await waitFor('the bookmark', () => h.loop.resourceVersion === now, { describe: () => `${h.loop.resourceVersion} vs ${now}` });
  h.api.compact(); // versions older than now are gone
  h.api.dropWatches();
  await waitFor('re-watched', () => watchRequests(h.api).length >= 2 || undefined);
  assert.equal(watchRequests(h.api)[1]?.resourceVersion, now);
  h.api.create(svc('b'));
  await waitFor('the new Service', () => h.seen.get('add b'));
  assert.equal(h.loop.counters.lists, 1, 'no relist');
  assert.equal(h.loop.counters.relistsOnGone, 0);
});

test('410 Gone: relists once and reports exactly what changed meanwhile; an unchanged object stays the same object', async () => {
  const h = await harness({ objects: [ns('shop'), svc('a'), svc('keep')] });
  const kept = h.loop.list().find((o) => o.metadata?.name === 'keep');
  h.loop.stop();
  h.api.delete('v1', 'Service', 'a', 'shop');
  h.api.create(svc('b'));
  h.api.compact();
  h.events.length = 0;
  await h.loop.start(); // resumes from a compacted version
  await waitFor('relisted', () => h.loop.counters.relistsOnGone === 1 || undefined);
  await waitFor('both changes', () => h.events.length >= 2 || undefined);
  assert.deepEqual(h.events.sort(), ['add b', 'delete a']);
  assert.deepEqual(h.loop.list().map((o) => o.metadata?.name).sort(), ['b', 'keep']);
  // Translation tells what changed by identity: a relist must not make every object new.
  assert.equal(h.loop.list().find((o) => o.metadata?.name === 'keep'), kept);
  h.api.create(svc('c'));
  await waitFor('watching again after the relist', () => h.seen.get('add c'));
  assert.deepEqual(h.errors, []);
});

test('a watch that keeps ending at once backs off instead of tight-looping', async () => {
  const h = await harness();
  const before = h.loop.counters.watches;
  for (let i = 0; i < 5; i++) {
    h.api.dropWatches();
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(h.loop.counters.watches - before <= 2, `${h.loop.counters.watches - before} watches in 0.5 s`);
});

test('managedFields and the last-applied copy are not cached; labels and annotations are', async () => {
  const h = await harness({ objects: [ns('shop'), svc('a', {
    labels: { app: 'a' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}', keep: 'me' },
    managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
  })] });
  const [a] = h.loop.list();
  assert.equal(a?.metadata?.managedFields, undefined);
  assert.deepEqual(a?.metadata?.annotations, { keep: 'me' });
  assert.deepEqual(a?.metadata?.labels, { app: 'a' });
});
