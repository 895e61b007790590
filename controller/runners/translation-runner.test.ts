// The runner's endpoint fast path against a fake apiserver: an endpoint-only change is patched
// without a status pass (the writer's snapshot holds the same objects, the statuses are the same
// array), while a route change still goes through one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { startFakeApiServer, type FakeObject } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { startController } from './translation-runner.ts';
import type { KubeObject } from '../translate/snapshot.ts';

const GW = 'gateway.networking.k8s.io/v1';
const ES = 'discovery.k8s.io/v1';

function slice(address: string): FakeObject {
  return { apiVersion: ES, kind: 'EndpointSlice', metadata: { name: 'cart-a', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: [address], conditions: { ready: true } }] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('an endpoint-only change is patched without a status pass; a route change runs one', async () => {
  const api = await startFakeApiServer({ objects: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
    slice('10.1.0.5'),
    { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'cart', namespace: 'shop' }, spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] } },
  ] });
  const logs: string[] = [];
  const ctl = startController({ client: kubeClientFor(api), log: (l) => logs.push(l), leaderElection: false, debounceMs: 10, maxDelayMs: 50, defaultMesh: false });
  const compared = (): number => ctl.writer.stats.unchanged + ctl.writer.stats.writes + ctl.writer.stats.conflicts;
  try {
    await waitFor('the route status written', () => ctl.writer.stats.writes > 0 || undefined, { describe: () => logs.join('\n') });
    // Our status write comes back through the watch as a status-only update, which the informer
    // caches without a snapshot: the next snapshot carries the route with its new status, and the
    // writer is given it (one pass). The endpoint change after that finds nothing new for it.
    const endpointChange = async (address: string): Promise<void> => {
      const patches = ctl.endpointPatches;
      api.update(slice(address));
      await waitFor('the endpoint change patched', () => ctl.endpointPatches > patches || undefined, { describe: () => logs.join('\n') });
      await sleep(100);
      await ctl.writer.idle();
    };
    await sleep(200);
    await endpointChange('10.1.0.6');
    const before = compared();
    const translations = ctl.translations;
    await endpointChange('10.1.0.7');
    assert.equal(ctl.translations, translations, 'no translation');
    assert.equal(compared(), before, 'no status compared or written again');
    const route = api.get(GW, 'HTTPRoute', 'cart', 'shop')!;
    api.update({ ...route, spec: { ...route.spec as object, rules: [{ backendRefs: [{ name: 'cart', port: 80, weight: 2 }] }] } });
    await waitFor('the route change translated', () => ctl.translations > translations || undefined, { describe: () => logs.join('\n') });
    await waitFor('its statuses compared again', () => compared() > before || undefined);
  } finally {
    await ctl.close();
    await api.close();
  }
});

test('the first route change after every route status was written recomputes and compares only that route', async () => {
  // What the control-plane bench's first change after its agents connect met (issue 14): the
  // writer's pass at start wrote every route's status, the writes came back as status-only
  // updates (new objects, cached without a snapshot), so the next snapshot held a new object for
  // every route. Counts, not times: statuses rebuilt by translation, statuses the writer compared.
  const N = 40;
  const objects: FakeObject[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }];
  for (let i = 0; i < N; i++) {
    objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}`, namespace: 'shop' }, spec: { clusterIP: `10.96.1.${i + 1}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    objects.push({ apiVersion: GW, kind: 'HTTPRoute', metadata: { name: `r${i}`, namespace: 'shop' }, spec: { parentRefs: [{ group: '', kind: 'Service', name: `s${i}`, port: 80 }], rules: [{ backendRefs: [{ name: `s${i}`, port: 80 }] }] } });
  }
  const api = await startFakeApiServer({ objects });
  const logs: string[] = [];
  // Agents hold the first ten routes, all acknowledged (the Propagated condition on those).
  const propagation = (r: { name: string }): { upToDate: number; total: number; generation: number } | null => (Number(r.name.slice(1)) < 10 ? { upToDate: 3, total: 3, generation: 1 } : null);
  const ctl = startController({ client: kubeClientFor(api), log: (l) => logs.push(l), leaderElection: false, debounceMs: 10, maxDelayMs: 50, defaultMesh: false, propagation });
  try {
    await waitFor('every route status written', () => ctl.writer.stats.writes >= N || undefined, { describe: () => logs.join('\n') });
    await ctl.writer.idle();
    // every write back in the informer's cache (no snapshot is made for them)
    await waitFor('the writes seen by the watch', () => ctl.provider.snapshot().httpRoutes.every((r) => r.status !== undefined) || undefined, { describe: () => logs.join('\n') });
    const translations = ctl.translations;
    const compared = ctl.writer.stats.compared;
    const route = api.get(GW, 'HTTPRoute', 'r3', 'shop')!;
    api.update({ ...route, spec: { ...route.spec as object, rules: [{ backendRefs: [{ name: 's3', port: 80, weight: 2 }] }] } });
    await waitFor('the route change translated', () => ctl.translations > translations || undefined, { describe: () => logs.join('\n') });
    await sleep(50);
    await ctl.writer.idle();
    const st = ctl.lastTranslation;
    assert.equal(st.routesBuilt, 1, 'route units rebuilt');
    assert.equal(st.statusesBuilt, 1, 'route statuses rebuilt');
    assert.equal(ctl.writer.stats.compared - compared, 1, 'statuses the writer compared');
  } finally {
    await ctl.close();
    await api.close();
  }
});

test('after a status pass over every route the caches hold the same route objects: a second pass writes nothing, the next change meets one new object', async () => {
  // Issue 14: the first route change after 1 000 agents connected was the p99 at 10 000 routes.
  // The initial and the agents' status passes wrote every route's status; those writes came back
  // through the watch as new route objects (cached without a snapshot), and the change's
  // translation compared each in place and the writer re-keyed each. Now each write the writer
  // made with no conflict is folded into the object it was written over. Counts, not times.
  const N = 80;
  const objects: FakeObject[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }];
  for (let i = 0; i < N; i++) {
    objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}`, namespace: 'shop' }, spec: { clusterIP: `10.96.${i >> 8}.${(i & 255) + 1}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    objects.push({ apiVersion: GW, kind: 'HTTPRoute', metadata: { name: `r${i}`, namespace: 'shop', generation: 1 }, spec: { parentRefs: [{ group: '', kind: 'Service', name: `s${i}`, port: 80 }], rules: [{ backendRefs: [{ name: `s${i}`, port: 80 }] }] } });
  }
  const api = await startFakeApiServer({ objects });
  const logs: string[] = [];
  // Agents hold the first ten routes (the Propagated condition on those), the counts moving once.
  let upToDate = 2;
  const propagation = (r: { name: string }): { upToDate: number; total: number; generation: number } | null => (Number(r.name.slice(1)) < 10 ? { upToDate, total: 3, generation: 1 } : null);
  let translated: KubeObject[] = [];
  const ctl = startController({ client: kubeClientFor(api), log: (l) => logs.push(l), leaderElection: false, debounceMs: 10, maxDelayMs: 50, defaultMesh: false, propagation,
    onTranslated: (_r, snapshot) => { translated = snapshot.httpRoutes; } });
  const rv = (o: KubeObject): string | undefined => o.metadata.resourceVersion;
  const inApi = (o: KubeObject): FakeObject => api.get(GW, 'HTTPRoute', o.metadata.name, 'shop')!;
  // Every write back through the watch: the cached objects carry the API server's versions.
  const caughtUp = (): true | undefined => ctl.provider.snapshot().httpRoutes.every((o) => rv(o) === inApi(o).metadata.resourceVersion) || undefined;
  try {
    await waitFor('every route status written', () => ctl.writer.stats.writes >= N || undefined, { describe: () => logs.join('\n') });
    await ctl.writer.idle();
    await waitFor('the writes seen by the watch', caughtUp, { describe: () => logs.join('\n') });
    // The agents' pass: Propagated moves on the ten routes they hold.
    upToDate = 3;
    const before = ctl.writer.stats.writes;
    ctl.writer.resync();
    await ctl.writer.idle();
    assert.equal(ctl.writer.stats.writes - before, 10, 'Propagated written to the ten routes');
    await waitFor('those writes seen by the watch', caughtUp, { describe: () => logs.join('\n') });
    const cached = ctl.provider.snapshot().httpRoutes;
    assert.equal(cached.filter((o, i) => o !== translated[i]).length, 0, 'the cache holds the very objects last translated');
    assert.ok(cached.every((o) => isDeepStrictEqual(o.status, inApi(o).status)), 'with the status the API server holds');
    // A second pass comparing every status afresh (as after becoming leader again) finds all in place.
    const { writes, conflicts, compared } = ctl.writer.stats;
    const times = JSON.stringify(cached.map((o) => inApi(o).status));
    ctl.writer.setLeader(true);
    await ctl.writer.idle();
    assert.equal(ctl.writer.stats.compared - compared, N, 'every status compared');
    assert.equal(ctl.writer.stats.writes - writes, 0, 'none written again');
    assert.equal(ctl.writer.stats.conflicts - conflicts, 0, 'none tried and refused (a write over a stale copy is a conflict)');
    assert.equal(JSON.stringify(ctl.provider.snapshot().httpRoutes.map((o) => inApi(o).status)), times, 'no lastTransitionTime moved');
    // Another controller's entry on r5 (not our write: cached as a new object, no snapshot of its own).
    const r5 = api.get(GW, 'HTTPRoute', 'r5', 'shop')!;
    const theirs = { parentRef: { group: '', kind: 'Service', name: 's5', port: 80 }, controllerName: 'example.com/other', conditions: [] };
    const foreign = api.updateStatus({ ...r5, status: { parents: [...(r5.status as { parents: unknown[] }).parents, theirs] } });
    await waitFor('their write seen by the watch', () => ctl.provider.snapshot().httpRoutes.some((o) => rv(o) === foreign.metadata.resourceVersion) || undefined);
    // One route changed: the change's translation is handed the changed route and r5 as new objects.
    const translations = ctl.translations;
    const route = api.get(GW, 'HTTPRoute', 'r3', 'shop')!;
    api.update({ ...route, metadata: { ...route.metadata, generation: 2 }, spec: { ...route.spec as object, rules: [{ backendRefs: [{ name: 's3', port: 80, weight: 2 }] }] } });
    await waitFor('the route change translated', () => ctl.translations > translations || undefined, { describe: () => logs.join('\n') });
    assert.equal(ctl.lastNewRouteObjects, 2, 'the change meets only the changed route and r5 as new objects');
    assert.equal(ctl.lastTranslation.routesBuilt, 1);
    await sleep(50);
    await ctl.writer.idle();
    const parents = (api.get(GW, 'HTTPRoute', 'r5', 'shop')!.status as { parents: { controllerName: string }[] }).parents;
    assert.deepEqual(parents.map((p) => p.controllerName).sort(), ['example.com/other', 'meshlet.dev/mesh-controller'], 'their entry seen and kept, ours too');
  } finally {
    await ctl.close();
    await api.close();
  }
});

test('a Gateway is Programmed at the ingress Service\'s load balancer address, and follows it when it changes', async () => {
  // Through the provider's informers and their per-kind transforms: the cached Service must keep
  // the status.loadBalancer the runner reads (the cluster journey's 5c found it dropped).
  const ingress = (ip: string): FakeObject => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'meshlet-ingress', namespace: 'meshlet-system' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.9', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    status: { loadBalancer: { ingress: [{ ip }] } },
  });
  const api = await startFakeApiServer({ objects: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshlet-system' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'infra' } },
    ingress('192.0.2.10'),
    { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'meshlet', generation: 1 }, spec: { controllerName: 'meshlet.dev/gateway-controller' } },
    { apiVersion: GW, kind: 'Gateway', metadata: { name: 'edge', namespace: 'infra', generation: 1 }, spec: { gatewayClassName: 'meshlet', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
  ] });
  const logs: string[] = [];
  const ctl = startController({ client: kubeClientFor(api), log: (l) => logs.push(l), leaderElection: false, debounceMs: 10, maxDelayMs: 50, defaultMesh: false, ingressService: { namespace: 'meshlet-system', name: 'meshlet-ingress' } });
  const programmedAt = (): string | undefined => {
    const st = api.get(GW, 'Gateway', 'edge', 'infra')?.status as { addresses?: { value: string }[]; conditions?: { type: string; status: string }[] } | undefined;
    const programmed = st?.conditions?.find((c) => c.type === 'Programmed')?.status === 'True';
    return programmed ? st?.addresses?.map((a) => a.value).join(',') : undefined;
  };
  try {
    assert.equal(await waitFor('the Gateway Programmed', programmedAt, { describe: () => `${JSON.stringify(api.get(GW, 'Gateway', 'edge', 'infra')?.status)}\n${logs.join('\n')}` }), '192.0.2.10');
    api.updateStatus(ingress('192.0.2.20'));
    await waitFor('the new address', () => (programmedAt() === '192.0.2.20' ? true : undefined), { describe: () => JSON.stringify(api.get(GW, 'Gateway', 'edge', 'infra')?.status) });
  } finally {
    await ctl.close();
    await api.close();
  }
});

test('route changes answered by reusing the last translation are counted as incremental, on /metrics too', async () => {
  const svc = (name: string, ip: string): FakeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
  const route = (name: string): FakeObject => ({ apiVersion: GW, kind: 'HTTPRoute', metadata: { name, namespace: 'shop' }, spec: { parentRefs: [{ group: '', kind: 'Service', name, port: 80 }], rules: [{ backendRefs: [{ name, port: 80 }] }] } });
  const api = await startFakeApiServer({ objects: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    svc('cart', '10.96.0.10'), svc('pay', '10.96.0.11'), svc('ship', '10.96.0.12'), route('cart'), route('pay'), route('ship'),
  ] });
  const logs: string[] = [];
  const ctl = startController({ client: kubeClientFor(api), log: (l) => logs.push(l), leaderElection: false, debounceMs: 10, maxDelayMs: 50, defaultMesh: false });
  const reused = (): number => Number(/meshlet_controller_translated_routes_total\{result="reused"\} (\d+)/.exec(ctl.metrics())?.[1]);
  try {
    await waitFor('the route statuses written', () => ctl.writer.stats.writes >= 3 || undefined, { describe: () => logs.join('\n') });
    await sleep(200);
    await ctl.writer.idle();
    for (let weight = 2; weight <= 4; weight++) {
      const translations = ctl.translations;
      const incremental = ctl.incrementalTranslations;
      const reusedBefore = reused();
      const cart = api.get(GW, 'HTTPRoute', 'cart', 'shop')!;
      api.update({ ...cart, spec: { ...cart.spec as object, rules: [{ backendRefs: [{ name: 'cart', port: 80, weight }] }] } });
      await waitFor('the route change translated', () => ctl.translations > translations || undefined, { describe: () => logs.join('\n') });
      await sleep(100);
      await ctl.writer.idle();
      assert.equal(ctl.incrementalTranslations - incremental, ctl.translations - translations, `weight ${weight}: every translation since reused the last one`);
      assert.ok(reused() - reusedBefore >= 2, `weight ${weight}: the two unchanged routes counted as reused (${reused() - reusedBefore})`);
    }
  } finally {
    await ctl.close();
    await api.close();
  }
});
