// Incremental translation must be indistinguishable from a full one: over seeded random sequences
// of edits to every kind translation reads (routes of both kinds on Services and Gateways,
// Services, ReferenceGrants, Namespaces, Gateways, AuthorizationPolicies, EndpointSlices, Pods),
// each result of the one IncrementalTranslator carried through the sequence (sometimes skipping
// snapshots, as the runner does for endpoint-only ones) deep-equals translate() of the same
// snapshot, statuses and table version included; so does each result of a route patch
// (route-patch.ts) over in-place route edits. Other tests count the units it rebuilt: one route
// edited at 300 routes is patched, rebuilding one route and one frontend and visiting no other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncrementalTranslator } from './incremental.ts';
import { translate } from './index.ts';
import * as f from './test-fixtures.ts';
import type { KubeObject, Snapshot, TranslateResult } from './snapshot.ts';
import { prng } from '../../test/support/prng.ts';
import { PLACEHOLDER_TIME } from './conditions.ts';

const NAMESPACES = ['shop', 'web', 'infra'];
const SERVICES = ['front', 'cart', 'stock', 'pay'];


type Rnd = () => number;
const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

function randomRoute(rnd: Rnd, name: string): KubeObject {
  const kind = rnd() < 0.25 ? 'GRPCRoute' : 'HTTPRoute';
  const ns = pick(rnd, NAMESPACES);
  const parentRefs = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => rnd() < 0.6
    ? { group: '', kind: 'Service', name: pick(rnd, SERVICES), namespace: pick(rnd, NAMESPACES), ...(rnd() < 0.3 ? { port: pick(rnd, [80, 81]) } : {}) }
    : { name: pick(rnd, ['edge', 'other']), namespace: 'infra', ...(rnd() < 0.2 ? { sectionName: 'http' } : {}) });
  const backendRefs = Array.from({ length: Math.floor(rnd() * 3) }, () => ({
    name: pick(rnd, SERVICES), namespace: pick(rnd, NAMESPACES), port: pick(rnd, [80, 81]), weight: Math.floor(rnd() * 3),
  }));
  const rule = kind === 'HTTPRoute'
    ? { matches: [{ path: { type: 'PathPrefix', value: pick(rnd, ['/', '/a', '/b']) } }], backendRefs }
    : { backendRefs };
  const hostnames = rnd() < 0.3 ? [pick(rnd, ['a.example.com', '*.example.com', 'b.test'])] : undefined;
  const created = `2026-01-0${1 + Math.floor(rnd() * 3)}T00:00:00Z`;
  return f.route(kind, name, ns, { parentRefs, rules: [rule], ...(hostnames ? { hostnames } : {}) }, created);
}

function randomService(rnd: Rnd, name: string, ns: string): KubeObject {
  const ports = [{ name: 'http', port: 80 }, ...(rnd() < 0.5 ? [{ name: 'grpc', port: 81 }] : [])];
  return f.service(name, ns, ports, rnd() < 0.15 ? 'None' : `10.0.${NAMESPACES.indexOf(ns)}.${SERVICES.indexOf(name) + 1}`);
}

function randomGateway(rnd: Rnd, name: string): KubeObject {
  const from = pick(rnd, ['All', 'Same', 'Selector']);
  const allowed = { namespaces: from === 'Selector' ? { from, selector: { matchLabels: { team: 'a' } } } : { from } };
  return f.gateway(name, [f.httpListener('http', 80, { allowedRoutes: allowed, ...(rnd() < 0.3 ? { hostname: '*.example.com' } : {}) })]);
}

function randomPolicy(rnd: Rnd): KubeObject {
  return {
    apiVersion: 'policy.meshlet.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'callers', namespace: 'shop', generation: 1 },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: pick(rnd, SERVICES) }], action: 'ALLOW', rules: [{ sources: [{ type: 'ServiceAccount', serviceAccount: { name: pick(rnd, SERVICES) } }] }] },
  };
}

function pod(rnd: Rnd, i: number): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'shop', labels: { app: pick(rnd, SERVICES), ...(rnd() < 0.6 ? { 'meshlet.dev/mesh': 'meshlet' } : {}) } },
    spec: { serviceAccountName: pick(rnd, SERVICES) }, status: { podIP: `10.1.0.${i + 1}` },
  };
}

function base(rnd: Rnd): Snapshot {
  return f.snapshot({
    gatewayClasses: [f.gatewayClass()],
    gateways: [randomGateway(rnd, 'edge')],
    namespaces: NAMESPACES.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n, labels: {} } })),
    services: NAMESPACES.flatMap((ns) => SERVICES.filter(() => rnd() < 0.7).map((s) => randomService(rnd, s, ns))),
    httpRoutes: Array.from({ length: 6 }, (_, i) => randomRoute(rnd, `r${i}`)).filter((r) => r.kind === 'HTTPRoute'),
    grpcRoutes: Array.from({ length: 3 }, (_, i) => randomRoute(rnd, `g${i}`)).filter((r) => r.kind === 'GRPCRoute'),
  });
}

/** Replaces (or removes, or adds) the object called `name` in a list: a new array, other objects kept as they are. */
function put(xs: KubeObject[], match: (o: KubeObject) => boolean, next: KubeObject | null): KubeObject[] {
  const others = xs.filter((o) => !match(o));
  return next ? [...others, next] : others;
}

/** One random edit of one object: only the edited object is new, every other keeps its identity. */
function edit(s: Snapshot, rnd: Rnd): Snapshot {
  const remove = rnd() < 0.2;
  const what = Math.floor(rnd() * 9);
  if (what <= 1) {
    const r = randomRoute(rnd, `r${Math.floor(rnd() * 8)}`);
    const same = (o: KubeObject) => o.metadata.name === r.metadata.name;
    const http = put(s.httpRoutes, same, !remove && r.kind === 'HTTPRoute' ? r : null);
    const grpc = put(s.grpcRoutes, same, !remove && r.kind === 'GRPCRoute' ? r : null);
    return { ...s, httpRoutes: http.length === s.httpRoutes.length && http.every((x, i) => x === s.httpRoutes[i]) ? s.httpRoutes : http, grpcRoutes: grpc };
  }
  if (what === 2) {
    const ns = pick(rnd, NAMESPACES);
    const svc = randomService(rnd, pick(rnd, SERVICES), ns);
    return { ...s, services: put(s.services, (o) => o.metadata.name === svc.metadata.name && o.metadata.namespace === ns, remove ? null : svc) };
  }
  if (what === 3) {
    const ns = pick(rnd, NAMESPACES);
    const g = f.referenceGrant(ns, { kind: pick(rnd, ['HTTPRoute', 'GRPCRoute']), namespace: pick(rnd, NAMESPACES) }, { kind: 'Service', ...(rnd() < 0.5 ? { name: pick(rnd, SERVICES) } : {}) });
    return { ...s, referenceGrants: put(s.referenceGrants, (o) => o.metadata.namespace === ns, remove ? null : g) };
  }
  if (what === 4) {
    const name = pick(rnd, NAMESPACES);
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: rnd() < 0.5 ? { team: 'a' } : {} } };
    return { ...s, namespaces: put(s.namespaces, (o) => o.metadata.name === name, ns) };
  }
  if (what === 5) {
    const g = randomGateway(rnd, pick(rnd, ['edge', 'other']));
    return { ...s, gateways: put(s.gateways, (o) => o.metadata.name === g.metadata.name, remove ? null : g) };
  }
  if (what === 6) return { ...s, authorizationPolicies: put(s.authorizationPolicies, () => true, remove ? null : randomPolicy(rnd)) };
  if (what === 7) {
    const i = Math.floor(rnd() * 4);
    return { ...s, pods: put(s.pods, (o) => o.metadata.name === `p${i}`, remove ? null : pod(rnd, i)) };
  }
  const svc = pick(rnd, SERVICES);
  const ns = pick(rnd, NAMESPACES);
  const es = f.endpointSlice(svc, ns, [`10.1.0.${1 + Math.floor(rnd() * 4)}`], [{ name: 'http', port: 8080 }], `p${Math.floor(rnd() * 4)}`);
  return { ...s, endpointSlices: put(s.endpointSlices, (o) => o.metadata.name === es.metadata.name && o.metadata.namespace === ns, remove ? null : es) };
}

/** A status as the writer writes it: every placeholder time stamped. */
const written_ = (status: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(status).replaceAll(PLACEHOLDER_TIME, '2026-12-07T04:00:00Z')) as Record<string, unknown>;

/** Some routes replaced by copies carrying the status `result` gave them, as written back. */
function statusWritten(s: Snapshot, result: TranslateResult, rnd: Rnd): Snapshot {
  const foreign = { parentRef: { name: 'elsewhere' }, controllerName: 'example.com/ctl', conditions: [{ type: 'Accepted', status: rnd() < 0.5 ? 'True' : 'False' }] };
  const write = (o: KubeObject): KubeObject => {
    if (rnd() < 0.5) return o;
    const u = result.statuses.find((x) => x.kind === o.kind && x.name === o.metadata.name && x.namespace === o.metadata.namespace);
    const status = u ? written_(u.status) : {};
    const roll = rnd();
    if (roll < 0.2) status.parents = [foreign, ...(Array.isArray(status.parents) ? status.parents as unknown[] : [])];
    else if (roll < 0.3) status.note = pick(rnd, ['a', 'b']);
    else if (roll < 0.35) delete status.parents;
    return { ...o, metadata: { ...o.metadata, resourceVersion: String(Math.floor(rnd() * 1e6)) }, status };
  };
  return { ...s, httpRoutes: s.httpRoutes.map(write), grpcRoutes: s.grpcRoutes.map(write) };
}

test('incremental results equal full translations over random edit sequences of every kind', () => {
  let reused = 0;
  let routeTables = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const rnd = prng(seed);
    let snap = base(rnd);
    const inc = new IncrementalTranslator();
    for (let step = 0; step < 60; step++) {
      const result = inc.translate(snap);
      assert.deepEqual(result, translate(snap), `seed ${seed} step ${step}`);
      reused += inc.stats.routesReused + inc.stats.frontendsReused;
      if (result.ir.services.some((s) => s.ports.some((p) => p.producer || p.consumers.length > 0))) routeTables++;
      // Sometimes several edits between translations: the runner hands endpoint-only changes to
      // the endpoint patch, so the translator's next snapshot can differ by more than one edit.
      const edits = rnd() < 0.7 ? 1 : 2 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits; e++) snap = edit(snap, rnd);
      // The status writer's writes coming back (new objects, same spec): ours as written, at
      // times with another controller's entry or another status field beside them.
      if (rnd() < 0.4) snap = statusWritten(snap, result, rnd);
    }
  }
  // The sequences exercised reuse and produced routes at all: otherwise equality proves little.
  assert.ok(reused > 1000, `units reused: ${reused}`);
  assert.ok(routeTables > 500, `tables with mesh routes: ${routeTables}`);
});

/**
 * One route replaced where it is (same kind, namespace and name: what an update does), mostly
 * attached to Services alone (a route patch's case), at times to a Gateway too (not one).
 */
function editInPlace(s: Snapshot, rnd: Rnd): Snapshot {
  const field = rnd() < 0.7 && s.httpRoutes.length > 0 ? 'httpRoutes' : 'grpcRoutes';
  const list = s[field];
  if (list.length === 0) return s;
  const at = Math.floor(rnd() * list.length);
  const old = list[at]!;
  let r = randomRoute(rnd, old.metadata.name);
  for (let tries = 0; tries < 20 && r.kind !== old.kind; tries++) r = randomRoute(rnd, old.metadata.name);
  if (r.kind !== old.kind) return s;
  const spec = r.spec as { parentRefs: { kind?: string }[] };
  const mesh = spec.parentRefs.filter((p) => p.kind === 'Service');
  const parentRefs = rnd() < 0.85 ? (mesh.length > 0 ? mesh : [{ group: '', kind: 'Service', name: pick(rnd, SERVICES), namespace: pick(rnd, NAMESPACES) }]) : spec.parentRefs;
  const next = f.route(old.kind as 'HTTPRoute' | 'GRPCRoute', old.metadata.name, old.metadata.namespace!, { ...spec, parentRefs }, old.metadata.creationTimestamp);
  return { ...s, [field]: list.map((o, i) => (i === at ? next : o)) };
}

test('route patches equal full translations over random in-place route edits', () => {
  let patches = 0;
  let steps = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const rnd = prng(1000 + seed);
    let snap = base(rnd);
    // Mesh routes on every Service: more routes per Service, so conflicts and shared frontends move.
    for (let i = 0; i < 6; i++) snap = edit(snap, rnd);
    const inc = new IncrementalTranslator();
    for (let step = 0; step < 60; step++) {
      const before = inc.patches;
      const result = inc.translate(snap);
      assert.deepEqual(result, translate(snap), `seed ${seed} step ${step} (${inc.patches > before ? 'patched' : 'full'})`);
      steps++;
      const edits = rnd() < 0.8 ? 1 : 2 + Math.floor(rnd() * 2);
      for (let e = 0; e < edits; e++) snap = rnd() < 0.9 ? editInPlace(snap, rnd) : edit(snap, rnd);
      if (rnd() < 0.2) snap = statusWritten(snap, result, rnd);
    }
    patches += inc.patches;
  }
  // Most steps went through the patch: otherwise equality proves little about it.
  assert.ok(patches > steps / 3, `patched ${patches} of ${steps}`);
});

test('one route edited among 300 is patched: one route unit, one frontend and one status looked at', () => {
  const services = Array.from({ length: 300 }, (_, i) => f.service(`s${i}`, 'shop', [{ name: 'http', port: 80 }], `10.0.${i >> 8}.${i & 255}`));
  const routes = services.map((_, i) => f.httpRoute(`r${i}`, 'shop', {
    parentRefs: [{ group: '', kind: 'Service', name: `s${i}` }],
    rules: [{ matches: [{ headers: [{ name: 'x-v', value: 'a' }] }], backendRefs: [{ name: `s${i}`, port: 80 }] }],
  }));
  const snap = f.snapshot({ services, httpRoutes: routes });
  const inc = new IncrementalTranslator();
  inc.translate(snap);
  assert.deepEqual(inc.stats, { routesBuilt: 300, routesReused: 0, frontendsBuilt: 300, frontendsReused: 0, backendsBuilt: 300, backendsReused: 0, statusesBuilt: 300, statusesReused: 0 });
  const edited = f.httpRoute('r7', 'shop', { ...routes[7]!.spec, rules: [{ matches: [{ headers: [{ name: 'x-v', value: 'b' }] }], backendRefs: [{ name: 's7', port: 80 }] }] });
  const next = { ...snap, httpRoutes: routes.map((r, i) => (i === 7 ? edited : r)) };
  const result = inc.translate(next);
  // (its status is the same value: same generation and outcomes, handed back); nothing else visited
  assert.deepEqual(inc.stats, { routesBuilt: 1, routesReused: 0, frontendsBuilt: 1, frontendsReused: 0, backendsBuilt: 0, backendsReused: 0, statusesBuilt: 0, statusesReused: 1 });
  assert.equal(inc.patches, 1);
  assert.deepEqual(result, translate(next));
  // A Service edit is no patch's: the routes that looked it up (parent and backend) and its frontend and backend are rebuilt, the rest reused.
  const svcEdited = { ...next, services: services.map((s, i) => (i === 9 ? f.service('s9', 'shop', [{ name: 'http', port: 80 }, { name: 'b', port: 81 }], '10.0.0.9') : s)) };
  assert.deepEqual(inc.translate(svcEdited), translate(svcEdited));
  assert.deepEqual(inc.stats, { routesBuilt: 1, routesReused: 299, frontendsBuilt: 1, frontendsReused: 299, backendsBuilt: 2, backendsReused: 299, statusesBuilt: 0, statusesReused: 300 });
});

test('a status written to every route (new objects, same spec) rebuilds no route unit, frontend or status', () => {
  const services = Array.from({ length: 50 }, (_, i) => f.service(`s${i}`, 'shop', [{ name: 'http', port: 80 }], `10.0.0.${i + 1}`));
  const routes = services.map((_, i) => ({
    ...f.httpRoute(`r${i}`, 'shop', { parentRefs: [{ group: '', kind: 'Service', name: `s${i}` }], rules: [{ backendRefs: [{ name: `s${i}`, port: 80 }] }] }),
    metadata: { name: `r${i}`, namespace: 'shop', generation: 1, resourceVersion: '10' },
  }));
  const snap = f.snapshot({ services, httpRoutes: routes });
  const inc = new IncrementalTranslator();
  // what the status writer's own writes coming back leave in the informer's cache
  const first = inc.translate(snap);
  const written = routes.map((r, i) => ({ ...r, metadata: { ...r.metadata, resourceVersion: `${20 + i}` }, status: written_(first.statuses.find((u) => u.name === r.metadata.name)!.status) }));
  const next = { ...snap, httpRoutes: written };
  const result = inc.translate(next);
  assert.deepEqual(result, translate(next));
  // (a patch: every route replaced in place, Services alone; no frontend or backend visited)
  assert.deepEqual(inc.stats, { routesBuilt: 0, routesReused: 50, frontendsBuilt: 0, frontendsReused: 0, backendsBuilt: 0, backendsReused: 0, statusesBuilt: 0, statusesReused: 50 });
  // the statuses handed back are the very objects of the round before (what the writer settles on)
  assert.ok(result.statuses.every((u, i) => u === first.statuses[i]));
  // another controller's entry appearing on one route is read: that status is built again
  const foreign = { parentRef: { name: 'elsewhere' }, controllerName: 'example.com/ctl', conditions: [] };
  const withForeign = { ...next, httpRoutes: written.map((r, i) => (i === 2 ? { ...r, status: { parents: [foreign, ...r.status.parents as unknown[]] } } : r)) };
  assert.deepEqual(inc.translate(withForeign), translate(withForeign));
  assert.equal(inc.stats.statusesBuilt, 1);
  inc.translate(next);
  // a spec change under a new generation is still rebuilt, even with the same name
  const edited = written.map((r, i) => (i === 3 ? { ...r, metadata: { ...r.metadata, generation: 2 }, spec: { ...r.spec, hostnames: ['x.example.com'] } } : r));
  const third = { ...next, httpRoutes: edited };
  assert.deepEqual(inc.translate(third), translate(third));
  assert.equal(inc.stats.routesBuilt, 1);
  // the names index follows the replaced objects: a second status write rebuilds nothing either
  const rewritten = edited.map((r) => ({ ...r, metadata: { ...r.metadata, resourceVersion: `${Number(r.metadata.resourceVersion) + 100}` } }));
  const fourth = { ...third, httpRoutes: rewritten };
  assert.deepEqual(inc.translate(fourth), translate(fourth));
  assert.equal(inc.stats.routesBuilt, 0);
  // a route deleted, then back with the same spec the round after: built again, not last-but-one round's unit
  const without = { ...fourth, httpRoutes: rewritten.filter((_, i) => i !== 5) };
  assert.deepEqual(inc.translate(without), translate(without));
  const back = { ...fourth, httpRoutes: rewritten.map((r, i) => (i === 5 ? { ...r, metadata: { ...r.metadata, resourceVersion: '999' } } : r)) };
  assert.deepEqual(inc.translate(back), translate(back));
  assert.equal(inc.stats.routesBuilt, 1);
  // same generation, but the metadata the translation may read changed (an annotation, a label):
  // not "only its status", so rebuilt, never handed back
  for (const meta of [{ annotations: { 'meshlet.dev/x': 'y' } }, { labels: { tier: 'b' } }]) {
    inc.translate(back); // each from the same round
    const touched = { ...back, httpRoutes: back.httpRoutes.map((r, i) => (i === 7 ? { ...r, metadata: { ...r.metadata, ...meta, resourceVersion: '1000' } } : r)) };
    assert.deepEqual(inc.translate(touched), translate(touched));
    assert.equal(inc.stats.routesBuilt, 1, JSON.stringify(meta));
  }
});
