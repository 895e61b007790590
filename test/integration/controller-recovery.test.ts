// The controller through apiserver trouble: history compacted (watches resume into 410 Gone and
// relist), an apiserver restart with downtime (informers and the Lease recover with backoff),
// and a cluster without the Gateway API whose CRDs are installed later.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/wait-for.ts';
import { cond, controllerFor, fakeCluster, GW, routeConds, scenario, XMESH } from './controller-harness.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const MESH = 'meshlet.dev/mesh-controller cart';
const resolved = (api: Awaited<ReturnType<typeof fakeCluster>>, route: string): string | undefined => routeConds(api, route)[MESH]?.find((c) => c.type === 'ResolvedRefs')?.status;

test('410 Gone after compaction and an apiserver restart: the controller relists and keeps writing', async () => {
  const api = await fakeCluster({ historyLimit: 5 });
  cleanup.push(() => api.close());
  const ctl = controllerFor(api, 'one');
  cleanup.push(() => ctl.close());
  await waitFor('initial status', () => resolved(api, 'cart-mesh') === 'True');

  // Many unrelated changes push the route informer's version out of the 5-event history.
  for (let i = 0; i < 20; i++) api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `filler-${i}` } });
  api.dropWatches();
  const route = api.get(GW, 'HTTPRoute', 'cart-mesh', 'shop')!;
  api.update({ ...route, spec: { ...route.spec as object, rules: [{ backendRefs: [{ name: 'nope', port: 80 }] }] } });
  await waitFor('change seen after 410', () => resolved(api, 'cart-mesh') === 'False', { timeoutMs: 8000, describe: () => ctl.logs.join('\n') });
  const routeLists = api.requests.filter((r) => r.path.endsWith('/httproutes') && r.query.watch === undefined).length;
  assert.ok(routeLists >= 2, `the route informer relisted after 410 (${routeLists} lists)`);

  await api.restart(300);
  api.create({ apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'after-restart', namespace: 'shop' },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] } });
  await waitFor('status of a route created after the restart', () => resolved(api, 'after-restart') === 'True', { timeoutMs: 8000, describe: () => ctl.logs.join('\n') });
  assert.ok(ctl.elector?.isLeader, 'still leader (renewed after the outage)');
});

test('Gateway API CRDs absent at start, installed later: statuses appear without a restart', async () => {
  const api = await fakeCluster({ gatewayApi: false, objects: scenario().filter((o) => !o.apiVersion.startsWith('gateway.')) });
  cleanup.push(() => api.close());
  const ctl = controllerFor(api, 'one', { missingRetryMs: 30_000 });
  cleanup.push(() => ctl.close());
  await waitFor('first translation', () => ctl.translations > 0);
  await waitFor('missing CRDs logged', () => ctl.logs.some((l) => l.includes('httproutes.gateway.networking.k8s.io: not served')));
  api.installGatewayApi({ bundleVersion: 'v1.6.0' });
  for (const o of scenario().filter((x) => x.apiVersion.startsWith('gateway.'))) api.create(o);
  // Well before the 30 s missing-retry: the CRD watch pokes the informers.
  await waitFor('route status after install', () => resolved(api, 'cart-mesh') === 'True', { timeoutMs: 5000, describe: () => ctl.logs.join('\n') });
  assert.equal(cond(api.get(GW, 'GatewayClass', 'meshlet'), 'SupportedVersion')?.status, 'True');
  await waitFor('default XMesh created and accepted', () => cond(api.get(XMESH, 'XMesh', 'meshlet'), 'Accepted')?.status === 'True', { timeoutMs: 5000, describe: () => ctl.logs.join('\n') });
});
