// The provider against the fake apiserver (real HTTP, unmodified client-node underneath).
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer, type FakeObject } from '../../../test/support/fake-apiserver/index.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import type { Snapshot } from '../../translate/snapshot.ts';
import { kubeClientFor } from '../../../test/support/kube-client-for.ts';
import { KubernetesProvider } from './kubernetes-provider.ts';
import type { CoalescerOptions } from './coalescer.ts';
import { MESHED_POD_LABEL } from '../../../api/pod-annotations.ts';
import { resourceKey } from '../../../test/support/fake-apiserver/resources.ts';

const GW_V1 = 'gateway.networking.k8s.io/v1';
const ns = (name: string): FakeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const route = (name: string, extra: Record<string, unknown> = {}): FakeObject => ({
  apiVersion: GW_V1, kind: 'HTTPRoute', metadata: { name, namespace: 'shop' },
  spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], ...extra },
});

interface Harness { api: FakeApiServer; provider: KubernetesProvider; snapshots: Snapshot[]; logs: string[]; latest: () => Snapshot | undefined }

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) {
    h.provider.close();
    await h.api.close();
  }
});

async function harness(opts: Parameters<typeof startFakeApiServer>[0] = {}, missingRetryMs = 5000, coalesce: CoalescerOptions = {}): Promise<Harness> {
  const api = await startFakeApiServer(opts);
  const snapshots: Snapshot[] = [];
  const logs: string[] = [];
  const provider = new KubernetesProvider({
    client: kubeClientFor(api), onSnapshot: (s) => snapshots.push(s), log: (l) => logs.push(l),
    debounceMs: 20, maxDelayMs: 200, missingRetryMs, backoff: { initialMs: 50, maxMs: 400 }, ...coalesce,
  }).start();
  const h = { api, provider, snapshots, logs, latest: () => snapshots[snapshots.length - 1] };
  open.push(h);
  return h;
}

const routeNames = (s: Snapshot | undefined): string => (s?.httpRoutes ?? []).map((r) => r.metadata.name).sort().join(',');

describe('KubernetesProvider', () => {
  test('first snapshot only after every cache synced: all kinds, apiVersion and kind filled, bundle version', async () => {
    const h = await harness({ objects: [
      ns('shop'),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart', namespace: 'shop' }, spec: { clusterIP: '10.0.0.1', ports: [{ port: 80 }] } },
      { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'cart-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } }, addressType: 'IPv4', endpoints: [] },
      { apiVersion: GW_V1, kind: 'GatewayClass', metadata: { name: 'meshlet' }, spec: { controllerName: 'meshlet.dev/gateway-controller' } },
      route('a'),
      { apiVersion: 'gateway.networking.x-k8s.io/v1alpha1', kind: 'XMesh', metadata: { name: 'meshlet' }, spec: { controllerName: 'meshlet.dev/mesh-controller' } },
    ] });
    const s = await waitFor('first snapshot', () => h.latest());
    assert.equal(h.snapshots.length, 1, 'one snapshot for the whole initial sync');
    assert.deepEqual(s.services.map((o) => [o.apiVersion, o.kind, o.metadata.name]), [['v1', 'Service', 'cart']]);
    assert.deepEqual(s.endpointSlices.map((o) => [o.apiVersion, o.kind]), [['discovery.k8s.io/v1', 'EndpointSlice']]);
    assert.equal(s.gatewayClasses.length, 1);
    assert.equal(s.meshes.length, 1);
    assert.equal(routeNames(s), 'a');
    assert.equal(s.gatewayApiBundleVersion, 'v1.6.0');
    assert.ok(h.api.requests.every((r) => r.authorization === 'Bearer fake-token'), 'the kubeconfig credentials go with every request, watches included');
    assert.ok(h.api.requests.some((r) => r.query.watch === 'true'));
  });

  test('a burst of changes is coalesced into few snapshots, the last one complete', async () => {
    const h = await harness({ objects: [ns('shop')] });
    await waitFor('first snapshot', () => h.latest());
    const before = h.snapshots.length;
    for (let i = 0; i < 30; i++) h.api.create(route(`r${String(i).padStart(2, '0')}`));
    await waitFor('all 30 routes', () => h.latest()?.httpRoutes.length === 30);
    assert.ok(h.snapshots.length - before <= 3, `30 changes gave ${h.snapshots.length - before} snapshots`);
  });

  test('watches only the Secrets Gateways reference, by name, never the Secret collection', async () => {
    const secret = (name: string): FakeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'edge' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } });
    const h = await harness({ objects: [ns('edge'), secret('cert'), secret('unrelated')] });
    await waitFor('first snapshot', () => h.latest());
    assert.deepEqual(h.latest()!.secrets, []);
    h.api.create({ apiVersion: GW_V1, kind: 'Gateway', metadata: { name: 'gw', namespace: 'edge' }, spec: { gatewayClassName: 'meshlet', listeners: [
      { name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } },
    ] } });
    await waitFor('referenced secret', () => h.latest()?.secrets.length === 1);
    assert.deepEqual(h.latest()!.secrets.map((o) => o.metadata.name), ['cert']);
    const secretPaths = h.api.requests.filter((r) => r.path.includes('secrets'));
    assert.ok(secretPaths.every((r) => r.path === '/api/v1/namespaces/edge/secrets' && r.query.fieldSelector === 'metadata.name=cert'), JSON.stringify(secretPaths));
    h.api.delete(GW_V1, 'Gateway', 'gw', 'edge');
    await waitFor('secret dropped with its Gateway', () => h.latest()?.secrets.length === 0 && h.latest()?.gateways.length === 0);
  });

  test('recovers after 410 Gone (relist) and after an apiserver restart (backoff)', async () => {
    const h = await harness({ objects: [ns('shop'), route('a')] });
    await waitFor('first snapshot', () => h.latest());
    // History compacted past the route informer's version (an unrelated change moved the global
    // resourceVersion on): resuming its watch gets 410 Gone and the informer relists.
    h.api.create(ns('unrelated'));
    await waitFor('namespace seen', () => h.latest()?.namespaces.length === 2);
    h.api.compact();
    h.api.dropWatches();
    h.api.create(route('b'));
    await waitFor('route b after 410', () => routeNames(h.latest()) === 'a,b', { describe: () => h.logs.join('\n') });
    const lists = h.api.requests.filter((r) => r.path.endsWith('/httproutes') && r.query.watch === undefined).length;
    assert.ok(lists >= 2, 'relisted');

    await h.api.restart(150);
    h.api.delete(GW_V1, 'HTTPRoute', 'a', 'shop');
    await waitFor('route a gone after restart', () => routeNames(h.latest()) === 'b', { timeoutMs: 8000, describe: () => h.logs.join('\n') });
  });

  test('Gateway API absent: snapshot without it, then picked up when the CRDs are installed', async () => {
    const h = await harness({ gatewayApi: false, objects: [ns('shop')] });
    const first = await waitFor('first snapshot', () => h.latest());
    assert.equal(first.gatewayApiBundleVersion, undefined);
    assert.ok(h.logs.some((l) => l.includes('httproutes.gateway.networking.k8s.io: not served')), h.logs.join('\n'));
    h.api.installGatewayApi({ bundleVersion: 'v1.5.1', referenceGrantV1beta1Only: true });
    h.api.create(route('late'));
    h.api.create({ apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: 'g', namespace: 'shop' }, spec: {} });
    await waitFor('route and grant after install', () => routeNames(h.latest()) === 'late' && h.latest()!.referenceGrants.length === 1, { describe: () => h.logs.join('\n') });
    assert.equal(h.latest()!.referenceGrants[0]!.apiVersion, 'gateway.networking.k8s.io/v1beta1');
    assert.equal(h.latest()!.gatewayApiBundleVersion, 'v1.5.1');
  });

  test('server errors on list: retried with backoff until the informer syncs', async () => {
    const h = await harness({ gatewayApi: false, objects: [ns('shop')] });
    h.api.injectFailure({ method: 'GET', path: '/api/v1/services', code: 500, times: 3 });
    h.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'shop' }, spec: {} });
    await waitFor('service after retries', () => h.latest()?.services.length === 1, { describe: () => `${h.logs.join('\n')}\n${JSON.stringify(h.api.requests.filter((r) => r.path.includes('services')))}` });
    assert.ok(h.logs.filter((l) => l.startsWith('services.core:') && l.includes('retrying in')).length >= 1, h.logs.join('\n'));
  });

  test('a kind whose CRD appears on its own (no GatewayClass CRD change) is found by the periodic retry', async () => {
    const h = await harness({ gatewayApi: { omit: ['XMesh'] }, objects: [ns('shop')] }, 150);
    await waitFor('first snapshot', () => h.latest());
    assert.equal(h.latest()!.meshes.length, 0);
    h.api.installGatewayApi(); // creates only the missing XMesh CRD
    h.api.create({ apiVersion: 'gateway.networking.x-k8s.io/v1alpha1', kind: 'XMesh', metadata: { name: 'meshlet' }, spec: { controllerName: 'meshlet.dev/mesh-controller' } });
    await waitFor('XMesh picked up', () => h.latest()?.meshes.length === 1, { describe: () => h.logs.join('\n') });
  });

  test('status-only updates of routes (our own writes coming back) do not re-translate; spec changes do', async () => {
    const h = await harness({ objects: [ns('shop'), route('a')] });
    await waitFor('first snapshot', () => h.latest());
    const before = h.snapshots.length;
    const current = h.api.get(GW_V1, 'HTTPRoute', 'a', 'shop')!;
    h.api.updateStatus({ ...current, status: { parents: [{ parentRef: { name: 'cart' }, controllerName: 'meshlet.dev/mesh-controller', conditions: [] }] } });
    await new Promise((r) => setTimeout(r, 400)); // several debounce periods
    assert.equal(h.snapshots.length, before, 'no snapshot for a status-only update');
    const latest = h.api.get(GW_V1, 'HTTPRoute', 'a', 'shop')!;
    h.api.update({ ...latest, spec: { ...(latest.spec as Record<string, unknown>), hostnames: ['a.example'] } });
    await waitFor('spec change seen', () => (h.latest()?.httpRoutes[0]?.spec as { hostnames?: string[] } | undefined)?.hostnames?.[0] === 'a.example');
  });

  // Issue 14: our own status writes came back as new route objects, so the first change after a
  // status pass over every route handed translation a new object for each. A write the status
  // writer reports (ownStatusWritten) is folded into the object it was made over instead.
  const ours = { parents: [{ parentRef: { group: '', kind: 'Service', name: 'cart', port: 80 }, controllerName: 'meshlet.dev/mesh-controller', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 1, lastTransitionTime: '2026-12-07T11:00:00Z' }] }] };
  const cachedRoute = (h: Harness): Snapshot['httpRoutes'][number] => h.provider.snapshot().httpRoutes[0]!;
  const rvOf = (o: { metadata: { resourceVersion?: string } }): string => o.metadata.resourceVersion!;

  test('our status write coming back is folded into the cached route: same object, the new status and resourceVersion', async () => {
    const h = await harness({ objects: [ns('shop'), route('a')] });
    await waitFor('first snapshot', () => h.latest());
    const obj = h.latest()!.httpRoutes[0]!;
    // Reported before the watch brings it (the write's answer first).
    const stored = h.api.updateStatus({ ...h.api.get(GW_V1, 'HTTPRoute', 'a', 'shop')!, status: ours });
    h.provider.ownStatusWritten(obj, rvOf(stored));
    await waitFor('the write back through the watch', () => rvOf(cachedRoute(h)) === rvOf(stored) || undefined, { describe: () => rvOf(cachedRoute(h)) });
    assert.equal(cachedRoute(h), obj, 'the same object');
    assert.deepEqual(obj.status, ours, 'with the status written');
    // Reported after the watch brought it (the answer last): the new object is folded back.
    const second = { parents: [{ ...ours.parents[0]!, conditions: [{ ...ours.parents[0]!.conditions[0]!, status: 'False', reason: 'BackendNotFound' }] }] };
    const stored2 = h.api.updateStatus({ ...h.api.get(GW_V1, 'HTTPRoute', 'a', 'shop')!, status: second });
    await waitFor('the second write in the cache', () => rvOf(cachedRoute(h)) === rvOf(stored2) || undefined);
    assert.notEqual(cachedRoute(h), obj, 'cached as a new object until the writer says it is ours');
    h.provider.ownStatusWritten(obj, rvOf(stored2));
    assert.equal(cachedRoute(h), obj);
    assert.deepEqual(obj.status, second);
    assert.equal(rvOf(obj), rvOf(stored2));
  });

  test('another controller\'s status write is cached as a new object; a spec change that comes with our status is not folded', async () => {
    const h = await harness({ objects: [ns('shop'), route('a')] });
    await waitFor('first snapshot', () => h.latest());
    const obj = h.latest()!.httpRoutes[0]!;
    // Not reported by our writer: someone else's entry, seen by translation through a new object.
    const foreign = { parents: [...ours.parents, { parentRef: { name: 'cart', kind: 'Service', group: '' }, controllerName: 'example.com/other', conditions: [] }] };
    const theirs = h.api.updateStatus({ ...h.api.get(GW_V1, 'HTTPRoute', 'a', 'shop')!, status: foreign });
    await waitFor('their write in the cache', () => rvOf(cachedRoute(h)) === rvOf(theirs) || undefined);
    const replaced = cachedRoute(h);
    assert.notEqual(replaced, obj);
    assert.deepEqual(replaced.status, foreign);
    assert.equal(obj.status, undefined, 'the object handed out before is untouched');
    // One update carrying a new spec and our status under the version our write was told: the
    // spec moved, so it is a change (a snapshot), never folded away.
    const snapshots = h.snapshots.length;
    const both = h.api.store.update(resourceKey('gateway.networking.k8s.io', 'httproutes'), { ...h.api.get(GW_V1, 'HTTPRoute', 'a', 'shop')!, spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], hostnames: ['a.example'] }, status: ours }, 'all');
    h.provider.ownStatusWritten(replaced, rvOf(both));
    await waitFor('the spec change in a snapshot', () => (h.latest()?.httpRoutes[0]?.spec as { hostnames?: string[] } | undefined)?.hostnames?.[0] === 'a.example' || undefined);
    assert.ok(h.snapshots.length > snapshots);
    assert.notEqual(h.latest()!.httpRoutes[0], replaced);
    assert.equal((replaced.spec as { hostnames?: string[] }).hostnames, undefined, 'the old object is not changed');
  });

  test('a Pod\'s status churn does not re-translate, but its IP appearing does (AuthorizationPolicy pod targets read it)', async () => {
    const pod: FakeObject = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cart-0', namespace: 'shop', labels: { app: 'cart', [MESHED_POD_LABEL]: 'meshlet' } },
      spec: { serviceAccountName: 'cart', containers: [{ name: 'app', image: 'cart' }] }, status: { phase: 'Pending' },
    };
    const h = await harness({ objects: [ns('shop'), pod] });
    await waitFor('first snapshot', () => h.latest());
    const before = h.snapshots.length;
    const current = h.api.get('v1', 'Pod', 'cart-0', 'shop')!;
    h.api.updateStatus({ ...current, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } });
    await new Promise((r) => setTimeout(r, 400)); // several debounce periods
    assert.equal(h.snapshots.length, before, 'no snapshot for a condition change');
    const latest = h.api.get('v1', 'Pod', 'cart-0', 'shop')!;
    h.api.updateStatus({ ...latest, status: { phase: 'Running', podIP: '10.244.0.7', podIPs: [{ ip: '10.244.0.7' }] } });
    await waitFor('the pod IP in a snapshot', () => (h.latest()?.pods[0]?.status as { podIP?: string } | undefined)?.podIP === '10.244.0.7' || undefined,
      { describe: () => `${h.snapshots.length} snapshots` });
  });

  test('an EndpointSlice change reaches a snapshot after the short endpoint window, a route change after the long one', async () => {
    const slice = (ip: string): FakeObject => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'cart-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } },
      addressType: 'IPv4', endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    });
    // A long route window, so that the endpoint batch beating it is not down to timing noise (a
    // loaded machine delays the watch events by hundreds of ms); no leading edge, which would let
    // a route change that comes after 1.5 s of quiet through in 5 ms (coalescer.test.ts covers it).
    const h = await harness({ objects: [ns('shop'), route('a'), slice('10.244.0.1')] }, 5000, { debounceMs: 1500, endpointDebounceMs: 5, maxDelayMs: 3000, leadingEdge: false });
    await waitFor('first snapshot', () => h.latest(), { timeoutMs: 5000 });
    const ips = (s: Snapshot | undefined): string => JSON.stringify(s?.endpointSlices[0]?.endpoints);
    let t0 = Date.now();
    h.api.update(slice('10.244.0.2'));
    await waitFor('the new endpoint in a snapshot', () => ips(h.latest()).includes('10.244.0.2') || undefined, { timeoutMs: 5000 });
    const endpointMs = Date.now() - t0;
    t0 = Date.now();
    h.api.create(route('b'));
    await waitFor('route b in a snapshot', () => routeNames(h.latest()) === 'a,b' || undefined, { timeoutMs: 5000 });
    const routeMs = Date.now() - t0;
    assert.ok(routeMs >= 1500, `a route change waits the 1500 ms debounce (${routeMs} ms)`);
    assert.ok(endpointMs < 1500, `an endpoint-only change does not wait for it (${endpointMs} ms)`);
  });
});
