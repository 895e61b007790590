// The fake apiserver against the UNMODIFIED @kubernetes/client-node: typed clients, discovery
// (KubernetesObjectApi), informers and raw watches, so the fake stays honest to the real API.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from './index.ts';

const GW = { group: 'gateway.networking.k8s.io', version: 'v1' };

async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function kubeConfigFor(api: FakeApiServer, dir: string): Promise<k8s.KubeConfig> {
  const path = join(dir, `kubeconfig-${api.port}`);
  await api.writeKubeconfig(path);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function statusCodeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

describe('fake apiserver with client-node', () => {
  let api: FakeApiServer;
  let kc: k8s.KubeConfig;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-apiserver-'));
    api = await startFakeApiServer({ bookmarkIntervalMs: 50 });
    kc = await kubeConfigFor(api, dir);
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('core objects: create, get, list, conflict on a stale update, delete', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    const svc = await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'cart' }, spec: { clusterIP: '10.0.0.7', ports: [{ port: 80 }] } } });
    assert.equal(svc.metadata?.namespace, 'shop');
    assert.ok(svc.metadata?.uid);
    const list = await core.listNamespacedService({ namespace: 'shop' });
    assert.deepEqual(list.items.map((s) => s.metadata?.name), ['cart']);
    assert.ok(Number(list.metadata?.resourceVersion) >= Number(svc.metadata?.resourceVersion));
    const fresh = await core.readNamespacedService({ namespace: 'shop', name: 'cart' });
    fresh.spec!.ports = [{ port: 8080 }];
    await core.replaceNamespacedService({ namespace: 'shop', name: 'cart', body: fresh });
    await assert.rejects(core.replaceNamespacedService({ namespace: 'shop', name: 'cart', body: fresh }), (e) => statusCodeOf(e) === 409);
    await assert.rejects(core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'cart' } } }), (e) => statusCodeOf(e) === 409);
    await core.deleteNamespacedService({ namespace: 'shop', name: 'cart' });
    await assert.rejects(core.readNamespacedService({ namespace: 'shop', name: 'cart' }), (e) => statusCodeOf(e) === 404);
  });

  test('custom objects: generation, the status subresource, merge and JSON patch', async () => {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const gw = await custom.createNamespacedCustomObject({ ...GW, namespace: 'shop', plural: 'gateways', body: {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'edge' }, spec: { gatewayClassName: 'meshlet', listeners: [] },
    } }) as k8s.KubernetesObject & { status?: unknown };
    assert.equal(gw.metadata?.generation, 1);
    // A status write through the subresource leaves spec and generation alone...
    const withStatus = await custom.replaceNamespacedCustomObjectStatus({ ...GW, namespace: 'shop', plural: 'gateways', name: 'edge', body: {
      ...gw, spec: { gatewayClassName: 'changed-by-status-write' }, status: { conditions: [{ type: 'Accepted', status: 'True' }] },
    } }) as { spec: { gatewayClassName: string }; metadata: { generation: number; resourceVersion: string } };
    assert.equal(withStatus.spec.gatewayClassName, 'meshlet');
    assert.equal(withStatus.metadata.generation, 1);
    // ...a stale resourceVersion is refused...
    await assert.rejects(custom.replaceNamespacedCustomObjectStatus({ ...GW, namespace: 'shop', plural: 'gateways', name: 'edge', body: gw }), (e) => statusCodeOf(e) === 409);
    // ...a main-resource write ignores status and bumps generation when spec changes.
    const merged = await custom.patchNamespacedCustomObject({ ...GW, namespace: 'shop', plural: 'gateways', name: 'edge', body: { spec: { listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] }, status: null } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)) as { status?: unknown; metadata: { generation: number } };
    assert.equal(merged.metadata.generation, 2);
    assert.ok(merged.status, 'status is not writable through the main resource');
    const patched = await custom.patchNamespacedCustomObjectStatus({ ...GW, namespace: 'shop', plural: 'gateways', name: 'edge', body: [
      { op: 'test', path: '/status/conditions/0/type', value: 'Accepted' },
      { op: 'add', path: '/status/conditions/-', value: { type: 'Programmed', status: 'False' } },
    ] }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)) as { status: { conditions: { type: string }[] } };
    assert.deepEqual(patched.status.conditions.map((c) => c.type), ['Accepted', 'Programmed']);
  });

  test('KubernetesObjectApi resolves resources through discovery', async () => {
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    await objects.create({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r1', namespace: 'shop' }, spec: {} } as k8s.KubernetesObject);
    const list = await objects.list('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop');
    assert.deepEqual(list.items.map((o) => o.metadata?.name), ['r1']);
    const beta = await objects.read({ apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'HTTPRoute', metadata: { name: 'r1', namespace: 'shop' } });
    assert.equal(beta.apiVersion, 'gateway.networking.k8s.io/v1beta1', 'every served version reads the same object');
  });

  test('Leases through CoordinationV1Api', async () => {
    const coord = kc.makeApiClient(k8s.CoordinationV1Api);
    const lease = await coord.createNamespacedLease({ namespace: 'shop', body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    lease.spec!.holderIdentity = 'b';
    const taken = await coord.replaceNamespacedLease({ namespace: 'shop', name: 'lock', body: lease });
    assert.equal(taken.spec?.holderIdentity, 'b');
    await assert.rejects(coord.replaceNamespacedLease({ namespace: 'shop', name: 'lock', body: lease }), (e) => statusCodeOf(e) === 409);
  });

  test('an informer lists, then sees adds, updates and deletes through the watch', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/shop/configmaps', () => core.listNamespacedConfigMap({ namespace: 'shop' }));
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    await core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'before' } } });
    await informer.start();
    try {
      await waitFor('watch open', () => api.openWatches() > 0);
      await core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'after' }, data: { a: '1' } } });
      await core.patchNamespacedConfigMap({ namespace: 'shop', name: 'after', body: { data: { a: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await core.deleteNamespacedConfigMap({ namespace: 'shop', name: 'before' });
      await waitFor('events', () => seen.length >= 4);
      assert.deepEqual(seen, ['add before', 'add after', 'update after', 'delete before']);
    } finally {
      await informer.stop();
    }
  });

  test('watch: resume from a version, bookmarks, 410 once history is compacted', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const start = (await core.listNamespacedConfigMap({ namespace: 'shop' })).metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'resumed' } } });
    const events: { type: string; name?: string; code?: number }[] = [];
    let done = false;
    const watch = new k8s.Watch(kc);
    const ctl = await watch.watch('/api/v1/namespaces/shop/configmaps', { resourceVersion: start, allowWatchBookmarks: true },
      (type, obj: { metadata?: { name?: string } }) => void events.push({ type, name: obj.metadata?.name }), () => { done = true; });
    await waitFor('replayed event and a bookmark', () => events.some((e) => e.type === 'ADDED') && events.some((e) => e.type === 'BOOKMARK'));
    assert.deepEqual(events.find((e) => e.type === 'ADDED'), { type: 'ADDED', name: 'resumed' });
    ctl.abort();
    await waitFor('first watch done', () => done);

    api.compact();
    const gone: { type: string; code?: number }[] = [];
    let goneDone = false;
    await watch.watch('/api/v1/namespaces/shop/configmaps', { resourceVersion: start },
      (type, obj: { code?: number }) => void gone.push({ type, code: obj.code }), () => { goneDone = true; });
    await waitFor('410 and end', () => goneDone);
    assert.deepEqual(gone, [{ type: 'ERROR', code: 410 }]);
  });

  test('Gateway API absent: 404 until its CRDs are created', async () => {
    const bare = await startFakeApiServer({ gatewayApi: false });
    try {
      const kc2 = await kubeConfigFor(bare, dir);
      const custom = kc2.makeApiClient(k8s.CustomObjectsApi);
      await assert.rejects(custom.listClusterCustomObject({ ...GW, plural: 'gatewayclasses' }), (e) => statusCodeOf(e) === 404);
      const apis = kc2.makeApiClient(k8s.ApisApi);
      assert.ok(!(await apis.getAPIVersions()).groups.some((g) => g.name === GW.group));
      bare.installGatewayApi({ bundleVersion: 'v1.6.0' });
      const list = await custom.listClusterCustomObject({ ...GW, plural: 'gatewayclasses' }) as { items: unknown[] };
      assert.deepEqual(list.items, []);
      const ext = kc2.makeApiClient(k8s.ApiextensionsV1Api);
      const crd = await ext.readCustomResourceDefinition({ name: 'gatewayclasses.gateway.networking.k8s.io' });
      assert.equal(crd.metadata?.annotations?.['gateway.networking.k8s.io/bundle-version'], 'v1.6.0');
    } finally {
      await bare.close();
    }
  });

  test('restart keeps the store, ends watches and serves again on the same URL', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    let ended = false;
    await new k8s.Watch(kc).watch('/api/v1/namespaces', {}, () => {}, () => { ended = true; });
    await waitFor('watch open', () => api.openWatches() > 0);
    await api.restart(20);
    await waitFor('watch ended', () => ended);
    const ns = await core.readNamespace({ name: 'shop' });
    assert.equal(ns.metadata?.name, 'shop');
  });
});
