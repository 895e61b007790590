// The status writer against the fake apiserver: statuses land through the subresource, nothing
// is written when nothing changed, conflicts are re-read and re-merged, other controllers'
// route entries survive, the default XMesh is created, and only the leader writes.
import { test, describe, afterEach } from 'node:test';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer, type FakeObject } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { IncrementalTranslator, translate, PLACEHOLDER_TIME } from '../translate/index.ts';
import { buildSnapshot, type KubeObject, type Snapshot } from '../translate/snapshot.ts';
import { StatusWriter, type StatusWriterOptions } from './status-writer.ts';
import { PROPAGATED_CONDITION } from './propagation.ts';

const GW = 'gateway.networking.k8s.io/v1';
const KINDS: [string, string][] = [['v1', 'Namespace'], ['v1', 'Service'], [GW, 'GatewayClass'], [GW, 'HTTPRoute'], ['gateway.networking.x-k8s.io/v1alpha1', 'XMesh']];
const otherEntry = { parentRef: { group: '', kind: 'Service', name: 'cart', port: 80 }, controllerName: 'example.com/other-mesh', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs', observedGeneration: 1, lastTransitionTime: '2020-01-01T00:00:00Z' }] };

const objects: FakeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart', namespace: 'shop' }, spec: { clusterIP: '10.0.0.1', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'meshlet' }, spec: { controllerName: 'meshlet.dev/gateway-controller' } },
  { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'shop' }, spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] } },
];

function snapshotOf(api: FakeApiServer): Snapshot {
  const all = KINDS.flatMap(([v, k]) => api.list(v, k) as KubeObject[]);
  return buildSnapshot(all, { gatewayApiBundleVersion: 'v1.6.0' }).snapshot;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function setup(extra: Partial<StatusWriterOptions> = {}): Promise<{ api: FakeApiServer; writer: StatusWriter; round: () => Promise<void> }> {
  const api = await startFakeApiServer({ objects });
  const writer = new StatusWriter({ client: kubeClientFor(api), meshRetryMs: 60_000, now: () => new Date('2026-11-22T01:02:03Z'), ...extra });
  cleanup.push(async () => { writer.close(); await api.close(); });
  const round = async (): Promise<void> => {
    const s = snapshotOf(api);
    writer.submit(s, translate(s).statuses);
    await writer.idle();
  };
  return { api, writer, round };
}

const statusWrites = (api: FakeApiServer): number => api.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/status')).length;

describe('StatusWriter', () => {
  test('only the leader writes; statuses land with real times; an unchanged round writes nothing', async () => {
    const { api, writer, round } = await setup();
    await round();
    assert.equal(statusWrites(api), 0, 'not leader: no writes');
    writer.setLeader(true);
    await writer.idle();
    const gc = api.get(GW, 'GatewayClass', 'meshlet')!;
    const conds = (gc.status as { conditions: { type: string; status: string; lastTransitionTime: string }[] }).conditions;
    assert.deepEqual(conds.map((c) => [c.type, c.status]), [['Accepted', 'True'], ['SupportedVersion', 'True']]);
    assert.ok(conds.every((c) => c.lastTransitionTime === '2026-11-22T01:02:03Z'));
    assert.ok((gc.status as { supportedFeatures: unknown[] }).supportedFeatures.length > 0);
    const route = api.get(GW, 'HTTPRoute', 'r', 'shop')!;
    assert.equal((route.status as { parents: { controllerName: string }[] }).parents[0]!.controllerName, 'meshlet.dev/mesh-controller');
    const mesh = api.get('gateway.networking.x-k8s.io/v1alpha1', 'XMesh', 'meshlet')!;
    assert.deepEqual(mesh.spec, { controllerName: 'meshlet.dev/mesh-controller' }, 'default XMesh created');
    await round(); // picks up the XMesh: its status is written
    assert.equal((api.get('gateway.networking.x-k8s.io/v1alpha1', 'XMesh', 'meshlet')!.status as { conditions: { type: string }[] }).conditions[0]!.type, 'Accepted');
    const before = statusWrites(api);
    await round();
    assert.equal(statusWrites(api), before, 'nothing changed: no write');
    assert.ok(writer.stats.unchanged >= 3);
  });

  test('a conflict is re-read and re-merged, keeping an entry another controller wrote meanwhile', async () => {
    const { api, writer } = await setup({ defaultMesh: false });
    writer.setLeader(true);
    const s = snapshotOf(api); // translated from this (soon stale) view of the route
    const route = api.get(GW, 'HTTPRoute', 'r', 'shop')!;
    api.updateStatus({ ...route, status: { parents: [otherEntry] } }); // the other mesh writes first
    writer.submit(s, translate(s).statuses);
    await writer.idle();
    assert.equal(writer.stats.conflicts, 1);
    const parents = (api.get(GW, 'HTTPRoute', 'r', 'shop')!.status as { parents: { controllerName: string }[] }).parents;
    assert.deepEqual(parents.map((p) => p.controllerName), ['example.com/other-mesh', 'meshlet.dev/mesh-controller']);
  });

  test('onWritten names the writes made over the snapshot\'s object alone: not one after a conflict, nor one on top of it', async () => {
    // The provider folds a reported write into the object it was made over (issue 14); a write
    // after a conflict's re-read may carry another controller's entry that object lacks.
    const reported: { name: string; kind: string; resourceVersion: string; same: boolean }[] = [];
    let s: Snapshot | undefined;
    const { api, writer } = await setup({ defaultMesh: false, onWritten: (over, resourceVersion) => {
      reported.push({ name: over.metadata.name, kind: over.kind, resourceVersion, same: s!.httpRoutes.includes(over) || s!.gatewayClasses.includes(over) });
    } });
    writer.setLeader(true);
    s = snapshotOf(api);
    writer.submit(s, translate(s).statuses);
    await writer.idle();
    assert.deepEqual(reported.map((r) => [r.kind, r.name, r.same]).sort(), [['GatewayClass', 'meshlet', true], ['HTTPRoute', 'r', true]]);
    const routeRv = api.get(GW, 'HTTPRoute', 'r', 'shop')!.metadata.resourceVersion;
    assert.equal(reported.find((r) => r.kind === 'HTTPRoute')!.resourceVersion, routeRv, 'the version the write got');
    // A conflict: the other mesh wrote first; the write after the re-read is not reported, nor
    // the next one made on top of it.
    reported.length = 0;
    s = snapshotOf(api);
    const route = api.get(GW, 'HTTPRoute', 'r', 'shop')!;
    api.updateStatus({ ...route, status: { parents: [...(route.status as { parents: unknown[] }).parents, otherEntry] } });
    let upToDate = 1;
    const propagation = (r: { name: string }): { upToDate: number; total: number; generation: number } | null => (r.name === 'r' ? { upToDate, total: 2, generation: 1 } : null);
    const w2 = new StatusWriter({ client: kubeClientFor(api), defaultMesh: false, propagation, onWritten: (over, resourceVersion) => reported.push({ name: over.metadata.name, kind: over.kind, resourceVersion, same: true }) });
    cleanup.push(() => { w2.close(); return Promise.resolve(); });
    w2.setLeader(true);
    w2.submit(s, translate(s).statuses);
    await w2.idle();
    assert.equal(w2.stats.conflicts, 1);
    assert.equal(w2.stats.writes, 1);
    const written = w2.stats.writes;
    upToDate = 2;
    w2.resync();
    await w2.idle();
    assert.equal(w2.stats.writes, written + 1, 'the count written on top of the conflicted write');
    assert.deepEqual(reported, [], 'neither reported');
  });

  test('a route that stops targeting us loses our entry, not theirs', async () => {
    const { api, writer, round } = await setup({ defaultMesh: false });
    writer.setLeader(true);
    await round();
    const route = api.get(GW, 'HTTPRoute', 'r', 'shop')!;
    const withTheirs = api.updateStatus({ ...route, status: { parents: [otherEntry, ...(route.status as { parents: unknown[] }).parents] } });
    api.update({ ...withTheirs, spec: { parentRefs: [{ group: 'example.com', kind: 'Mesh', name: 'elsewhere' }] } });
    await round();
    const parents = (api.get(GW, 'HTTPRoute', 'r', 'shop')!.status as { parents: { controllerName: string }[] }).parents;
    assert.deepEqual(parents.map((p) => p.controllerName), ['example.com/other-mesh']);
  });

  test('the propagation hook adds meshlet.dev/Propagated to our route entries', async () => {
    let upToDate = 1;
    const { api, writer, round } = await setup({ defaultMesh: false, propagation: (r) => (r.name === 'r' ? { upToDate, total: 2, generation: 4 } : null) });
    writer.setLeader(true);
    await round();
    const read = (): Record<string, unknown> => ((api.get(GW, 'HTTPRoute', 'r', 'shop')!.status as { parents: { conditions: Record<string, unknown>[] }[] }).parents[0]!.conditions.find((c) => c.type === PROPAGATED_CONDITION))!;
    assert.deepEqual([read().status, read().message], ['False', '1/2 proxies at generation 4']);
    assert.notEqual(read().lastTransitionTime, PLACEHOLDER_TIME);
    upToDate = 2;
    writer.resync();
    await writer.idle();
    await round();
    assert.deepEqual([read().status, read().message], ['True', '2/2 proxies at generation 4']);
  });

  test('a pass compares only the statuses whose status, object or Propagated count moved (issue 14)', async () => {
    const ROUTES = 40;
    const routes: FakeObject[] = Array.from({ length: ROUTES }, (_, i) => ({
      apiVersion: GW, kind: 'HTTPRoute', metadata: { name: `r${i}`, namespace: 'shop' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] },
    }));
    const counts = new Map<string, number>();
    const api = await startFakeApiServer({ objects: [...objects.filter((o) => o.kind !== 'HTTPRoute'), ...routes] });
    const writer = new StatusWriter({
      client: kubeClientFor(api), defaultMesh: false, now: () => new Date('2026-11-22T01:02:03Z'),
      propagation: (r) => ({ upToDate: counts.get(r.name) ?? 1, total: 1, generation: 1 }),
    });
    cleanup.push(async () => { writer.close(); await api.close(); });
    writer.setLeader(true);
    const translator = new IncrementalTranslator();
    // lookedUp: statuses whose object was found by kind and name, not by the status object itself.
    const pass = async (s: Snapshot): Promise<{ compared: number; writes: number; conflicts: number; lookedUp: number }> => {
      const before = { ...writer.stats };
      writer.submit(s, translator.translate(s).statuses);
      await writer.idle();
      return { compared: writer.stats.compared - before.compared, writes: writer.stats.writes - before.writes, conflicts: writer.stats.conflicts - before.conflicts, lookedUp: writer.stats.lookedUp - before.lookedUp };
    };
    const s1 = snapshotOf(api);
    const first = await pass(s1);
    assert.equal(first.writes, ROUTES + 1, 'every route and the GatewayClass written');
    // The same snapshot again (an endpoint change: the writer's objects predate its own writes):
    // nothing is compared, so nothing is written again and refused as a conflict; and every
    // status is known by the status object (the same one translation handed back): no key built.
    assert.deepEqual(await pass(s1), { compared: 0, writes: 0, conflicts: 0, lookedUp: 1 }, 'the GatewayClass, whose status is built afresh, alone looked up');
    // One route's count moves: that route alone is compared and written.
    counts.set('r5', 0);
    const before = { ...writer.stats };
    writer.resync();
    await writer.idle();
    assert.equal(writer.stats.compared - before.compared, 1);
    assert.equal(writer.stats.lookedUp - before.lookedUp, 1, 'r5 alone looked up (the GatewayClass\'s status object is the same in a resync)');
    assert.equal(((api.get(GW, 'HTTPRoute', 'r5', 'shop')!.status as { parents: { conditions: { type: string; message: string }[] }[] }).parents[0]!.conditions.find((c) => c.type === PROPAGATED_CONDITION))?.message, '0/1 proxies at generation 1');
    // The objects as the API holds them now (our writes came back, new objects with the
    // resourceVersions our writes got): no route is compared again, none written; the
    // GatewayClass, whose status translation builds afresh from the object, is compared once.
    const s2 = snapshotOf(api);
    assert.deepEqual(await pass(s2), { compared: 1, writes: 0, conflicts: 0, lookedUp: ROUTES + 1 });
    // One route edited: its status (a new one) is compared and written; the others are not looked at.
    const r9 = api.get(GW, 'HTTPRoute', 'r9', 'shop')!;
    const edited = api.update({ ...r9, spec: { parentRefs: [{ group: '', kind: 'Service', name: 'nowhere', port: 80 }], rules: [] } }) as unknown as KubeObject;
    const s3 = { ...s2, httpRoutes: s2.httpRoutes.map((r) => (r.metadata.name === 'r9' ? edited : r)) };
    // (a route patch: the GatewayClass's status is handed back as the same object, not looked up again)
    assert.deepEqual(await pass(s3), { compared: 1, writes: 1, conflicts: 0, lookedUp: 1 }, 'r9 alone looked up');
    const r9Status = api.get(GW, 'HTTPRoute', 'r9', 'shop')!.status as { parents: { conditions: { type: string; status: string }[] }[] };
    assert.equal(r9Status.parents[0]!.conditions.find((c) => c.type === 'Accepted')?.status, 'False', 'r9 now names a Service that does not exist');
  });

  test('with the Propagated feed, a pass asks the counts of the routes that moved or changed alone, and a resync visits those alone (issue 14)', async () => {
    const ROUTES = 40;
    const routes: FakeObject[] = Array.from({ length: ROUTES }, (_, i) => ({
      apiVersion: GW, kind: 'HTTPRoute', metadata: { name: `r${i}`, namespace: 'shop' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] },
    }));
    const counts = new Map<string, number>();
    const asked: string[] = [];
    // What the publisher's movedRoutes() would say: null (any) at first, then the routes named.
    let moved: Set<string> | null = null;
    const api = await startFakeApiServer({ objects: [...objects.filter((o) => o.kind !== 'HTTPRoute'), ...routes] });
    const writer = new StatusWriter({
      client: kubeClientFor(api), defaultMesh: false, now: () => new Date('2026-11-22T01:02:03Z'),
      propagation: (r) => {
        asked.push(r.name);
        return { upToDate: counts.get(r.name) ?? 1, total: 1, generation: 1 };
      },
      propagationMoved: () => {
        const m = moved;
        moved = new Set();
        return m;
      },
    });
    cleanup.push(async () => { writer.close(); await api.close(); });
    writer.setLeader(true);
    const translator = new IncrementalTranslator();
    const move = (name: string, upToDate: number): void => {
      counts.set(name, upToDate);
      moved!.add(`HTTPRoute/shop/${name}`);
    };
    const run = async (submit?: Snapshot): Promise<{ asked: string[]; visited: number; writes: number }> => {
      asked.length = 0;
      const before = { ...writer.stats };
      if (submit) writer.submit(submit, translator.translate(submit).statuses);
      else writer.resync();
      await writer.idle();
      return { asked: [...asked].sort(), visited: writer.stats.visited - before.visited, writes: writer.stats.writes - before.writes };
    };
    const s1 = snapshotOf(api);
    const first = await run(s1);
    assert.equal(first.asked.length, ROUTES, 'the feed said any route may have moved: every count asked');
    assert.equal(first.writes, ROUTES + 1);
    // Nothing moved: a resync asks nothing and visits nothing (every route asked before).
    assert.deepEqual(await run(), { asked: [], visited: 0, writes: 0 });
    // Two routes' counts move, one of them back to what was written: those two alone are asked,
    // the one that differs written.
    move('r5', 0);
    move('r7', 1);
    assert.deepEqual(await run(), { asked: ['r5', 'r7'], visited: 2, writes: 1 });
    assert.equal(((api.get(GW, 'HTTPRoute', 'r5', 'shop')!.status as { parents: { conditions: { type: string; message: string }[] }[] }).parents[0]!.conditions.find((c) => c.type === PROPAGATED_CONDITION))?.message, '0/1 proxies at generation 1');
    // A new translation with one route edited: its count is asked (a new status), and the count
    // of a route that moved meanwhile; no other route's.
    const r9 = api.get(GW, 'HTTPRoute', 'r9', 'shop')!;
    const edited = api.update({ ...r9, spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80, weight: 3 }] }] } }) as unknown as KubeObject;
    move('r5', 1);
    const s2 = { ...s1, httpRoutes: s1.httpRoutes.map((r) => (r.metadata.name === 'r9' ? edited : r)) };
    const third = await run(s2);
    assert.deepEqual(third.asked, ['r5', 'r9']);
    assert.equal(third.visited, ROUTES + 1, 'a new translation\'s statuses are each visited (by identity)');
    assert.equal(third.writes, 2, 'r5 back to 1/1, r9 at its new generation');
    // The feed says any route may have moved (a publisher of its own, new): every count asked again.
    moved = null;
    assert.equal((await run()).asked.length, ROUTES);
  });

  test('a count that dips and comes back is written both ways, with no snapshot after the dip (route status updates make none)', async () => {
    let upToDate = 2;
    const { api, writer, round } = await setup({ defaultMesh: false, propagation: (r) => (r.name === 'r' ? { upToDate, total: 2, generation: 4 } : null) });
    writer.setLeader(true);
    await round();
    await round(); // this snapshot holds the route with "2/2" written
    const read = (): unknown[] => {
      const c = ((api.get(GW, 'HTTPRoute', 'r', 'shop')!.status as { parents: { conditions: Record<string, unknown>[] }[] }).parents[0]!.conditions.find((x) => x.type === PROPAGATED_CONDITION))!;
      return [c.status, c.message];
    };
    assert.deepEqual(read(), ['True', '2/2 proxies at generation 4']);
    const writes = statusWrites(api);
    for (const [n, want] of [[1, ['False', '1/2 proxies at generation 4']], [2, ['True', '2/2 proxies at generation 4']], [0, ['False', '0/2 proxies at generation 4']], [2, ['True', '2/2 proxies at generation 4']]] as const) {
      upToDate = n;
      writer.resync();
      await writer.idle();
      assert.deepEqual(read(), want, `${n}/2`);
    }
    assert.equal(statusWrites(api) - writes, 4, 'one write per change');
    assert.equal(writer.stats.conflicts, 0, 'each write on top of the last one, not on the snapshot\'s older copy');
  });

  test('an AuthorizationPolicy gets its status (ancestors, Accepted) through its subresource', async () => {
    const crd = parse(readFileSync(new URL('../../charts/meshlet/crds/policy.meshlet.dev_authorizationpolicies.yaml', import.meta.url), 'utf8')) as FakeObject;
    const POL = 'policy.meshlet.dev/v1alpha1';
    const api = await startFakeApiServer({ objects: [...objects, crd, { apiVersion: POL, kind: 'AuthorizationPolicy', metadata: { name: 'cart-callers', namespace: 'shop', generation: 1 }, spec: { targetRefs: [{ group: '', kind: 'Service', name: 'cart' }], action: 'ALLOW', rules: [{ sources: [{ type: 'ServiceAccount', serviceAccount: { name: 'web' } }] }] } }] });
    const writer = new StatusWriter({ client: kubeClientFor(api), defaultMesh: false, now: () => new Date('2026-11-22T01:02:03Z') });
    cleanup.push(async () => { writer.close(); await api.close(); });
    writer.setLeader(true);
    const s = buildSnapshot([...KINDS, [POL, 'AuthorizationPolicy'] as [string, string]].flatMap(([v, k]) => api.list(v, k) as KubeObject[]), { gatewayApiBundleVersion: 'v1.6.0' }).snapshot;
    const statuses = translate(s).statuses;
    assert.ok(statuses.some((u) => u.kind === 'AuthorizationPolicy'), 'translation has a status for the policy');
    writer.submit(s, statuses);
    await writer.idle();
    const ancestors = (api.get(POL, 'AuthorizationPolicy', 'cart-callers', 'shop')?.status as { ancestors?: { conditions: { type: string; status: string; lastTransitionTime: string }[] }[] } | undefined)?.ancestors;
    assert.ok(ancestors, 'the status was written');
    assert.deepEqual(ancestors[0]!.conditions.map((c) => [c.type, c.status, c.lastTransitionTime]), [['Accepted', 'True', '2026-11-22T01:02:03Z']]);
  });
});
