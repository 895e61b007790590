// The endpoint fast path must be indistinguishable from a full translation: over seeded random
// sequences of endpoint-only edits (slices added, removed, readiness flipped, addresses changed,
// Pods meshed/unmeshed/relabelled), each patched result is compared with translate() of the same
// snapshot, the patched one being carried forward so errors would accumulate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translate } from './index.ts';
import { EndpointPatcher, endpointOnlyChange, patchEndpoints } from './endpoint-patch.ts';
import { IncrementalTranslator } from './incremental.ts';
import * as f from './test-fixtures.ts';
import type { KubeObject, Snapshot } from './snapshot.ts';
import { prng } from '../../test/support/prng.ts';

const SERVICES = ['front', 'cart', 'stock'];

function pod(name: string, ip: string, meshed: boolean, app: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'shop', labels: { app, ...(meshed ? { 'meshlet.dev/mesh': 'meshlet' } : {}) } },
    spec: { serviceAccountName: app }, status: { podIP: ip },
  };
}

function slice(svc: string, n: number, endpoints: { ip: string; ready: boolean; pod: string }[]): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${svc}-${n}`, namespace: 'shop', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready }, targetRef: { kind: 'Pod', name: e.pod, namespace: 'shop' } })),
  };
}

function base(): Snapshot {
  return f.snapshot({
    gatewayClasses: [f.gatewayClass()],
    gateways: [f.gateway('edge', [f.httpListener('http')])],
    services: SERVICES.map((s, i) => f.service(s, 'shop', [{ name: 'http', port: 80 }], `10.0.0.${i + 1}`)),
    httpRoutes: [
      f.httpRoute('web', 'shop', { parentRefs: [{ name: 'edge', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'front', port: 80 }] }] }),
      f.httpRoute('canary', 'shop', { parentRefs: [{ kind: 'Service', group: '', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'stock', port: 80, weight: 1 }, { name: 'cart', port: 80, weight: 9 }] }] }),
    ],
    authorizationPolicies: [{
      apiVersion: 'policy.meshlet.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'stock-callers', namespace: 'shop', generation: 1 },
      spec: { targetRefs: [{ group: '', kind: 'Service', name: 'stock' }, { group: '', kind: 'Pod', selector: { matchLabels: { app: 'cart' } } }], action: 'ALLOW', rules: [{ sources: [{ type: 'ServiceAccount', serviceAccount: { name: 'front' } }] }] },
    }],
  });
}


/** One random endpoint-only edit: new arrays for the changed kind, unchanged objects kept as they are. */
function edit(s: Snapshot, rnd: () => number): Snapshot {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const podNames = Array.from({ length: 6 }, (_, i) => `p${i}`);
  if (rnd() < 0.3) {
    const name = pick(podNames);
    const others = s.pods.filter((p) => p.metadata.name !== name);
    if (rnd() < 0.25) return { ...s, pods: others };
    return { ...s, pods: [...others, pod(name, `10.1.0.${podNames.indexOf(name) + 1}`, rnd() < 0.6, pick(['front', 'cart', 'stock']))] };
  }
  const svc = pick(SERVICES);
  const n = Math.floor(rnd() * 2);
  const others = s.endpointSlices.filter((e) => e.metadata.name !== `${svc}-${n}`);
  if (rnd() < 0.2) return { ...s, endpointSlices: others };
  const count = Math.floor(rnd() * 4);
  const eps = Array.from({ length: count }, () => {
    const p = pick(podNames);
    return { ip: `10.1.0.${podNames.indexOf(p) + 1}`, ready: rnd() < 0.7, pod: p };
  });
  return { ...s, endpointSlices: [...others, slice(svc, n, eps)] };
}

test('patched results equal full translations over random endpoint-only edit sequences', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = prng(seed);
    let snap = base();
    let result = translate(snap);
    for (let step = 0; step < 40; step++) {
      const next = edit(snap, rnd);
      const change = endpointOnlyChange(snap, next);
      assert.ok(change, `seed ${seed} step ${step}: an endpoint-only edit is recognised`);
      result = patchEndpoints(result, next, change);
      assert.deepEqual(result, translate(next), `seed ${seed} step ${step}`);
      snap = next;
    }
    assert.ok(result.ir.backends.some((b) => b.endpoints.length > 0), `seed ${seed}: the sequence produced endpoints at all`);
  }
});

test('the runner\'s patcher (kept indexes, kept entry JSON, statuses handed back) equals full translations too', () => {
  for (let seed = 21; seed <= 40; seed++) {
    const rnd = prng(seed);
    // Half the sequences without policies: those patches skip the full indexes and hand statuses back.
    const withPolicies = seed % 2 === 0;
    let snap = withPolicies ? base() : { ...base(), authorizationPolicies: [] };
    const translator = new IncrementalTranslator();
    let result = translator.translate(snap);
    const patcher = new EndpointPatcher(translator.versioner);
    patcher.rebase(translator.lookup);
    let patched = 0;
    for (let step = 0; step < 40; step++) {
      const next = edit(snap, rnd);
      const change = endpointOnlyChange(snap, next);
      assert.ok(change, `seed ${seed} step ${step}: an endpoint-only edit is recognised`);
      const before = result;
      result = patcher.patch(result, next, change);
      if (result.ir !== before.ir) patched++;
      assert.deepEqual(result, translate(next), `seed ${seed} step ${step}`);
      if (!withPolicies) assert.equal(result.statuses, before.statuses, `seed ${seed} step ${step}: statuses handed back as they were`);
      snap = next;
    }
    assert.ok(patched > 5, `seed ${seed}: ${patched} patches changed the table`);
  }
});

test('a Pod rewritten without changing what endpoints read of it (readiness, IP) is not a Pod change', () => {
  const p0 = pod('p0', '10.1.0.1', true, 'cart');
  const s = { ...base(), pods: [p0, pod('p1', '10.1.0.2', false, 'cart')] };
  const ready = { ...p0, status: { podIP: '10.1.0.1', conditions: [{ type: 'Ready', status: 'True' }] } };
  assert.deepEqual(endpointOnlyChange(s, { ...s, pods: [ready, s.pods[1]!] }), { services: new Set(), pods: false });
  assert.deepEqual(endpointOnlyChange(s, { ...s, pods: [pod('p0', '10.1.0.1', false, 'cart'), s.pods[1]!] }), { services: new Set(), pods: true }, 'unmeshed');
  assert.deepEqual(endpointOnlyChange(s, { ...s, pods: [pod('p0', '10.1.0.1', true, 'stock'), s.pods[1]!] }), { services: new Set(), pods: true }, 'another service account');
  assert.deepEqual(endpointOnlyChange(s, { ...s, pods: [s.pods[1]!] }), { services: new Set(), pods: true }, 'removed');
});

test('any other change is not endpoint-only; unchanged snapshots are, with nothing to patch', () => {
  const s = base();
  const routeEdited = { ...s, httpRoutes: [s.httpRoutes[0]!, { ...s.httpRoutes[1]!, spec: {} }] };
  assert.equal(endpointOnlyChange(s, routeEdited), null, 'a route spec changed');
  assert.equal(endpointOnlyChange(s, { ...s, services: [...s.services.slice(1)] }), null, 'a Service removed');
  assert.equal(endpointOnlyChange(s, { ...s, gatewayAddresses: { 'infra/edge': ['1.2.3.4'] } }), null, 'addresses');
  assert.deepEqual(endpointOnlyChange(s, { ...s, gatewayAddresses: {} }), { services: new Set(), pods: false });
  const statusWritten = { ...s, httpRoutes: [s.httpRoutes[0]!, { ...s.httpRoutes[1]!, metadata: { ...s.httpRoutes[1]!.metadata, resourceVersion: '9' }, status: { parents: [] } }] };
  assert.deepEqual(endpointOnlyChange(s, statusWritten), { services: new Set(), pods: false }, 'a status write coming back is not a route change');
  const relabelled = { ...s, httpRoutes: [s.httpRoutes[0]!, { ...s.httpRoutes[1]!, metadata: { ...s.httpRoutes[1]!.metadata, labels: { a: 'b' } } }] };
  assert.equal(endpointOnlyChange(s, relabelled), null, 'a label change is');
  const withSlice = { ...s, endpointSlices: [slice('cart', 0, [{ ip: '10.1.0.1', ready: true, pod: 'p0' }])] };
  assert.deepEqual(endpointOnlyChange(s, withSlice), { services: new Set(['shop/cart']), pods: false });
});

test('backends of Services whose slices did not change keep their object (slices built from them stay shared)', () => {
  const s = { ...base(), endpointSlices: [slice('front', 0, [{ ip: '10.1.0.1', ready: true, pod: 'p0' }])] };
  const before = translate(s);
  const next = { ...s, endpointSlices: [...s.endpointSlices, slice('cart', 0, [{ ip: '10.1.0.2', ready: true, pod: 'p1' }])] };
  const after = patchEndpoints(before, next, endpointOnlyChange(s, next)!);
  const byName = (r: typeof before, n: string) => r.ir.backends.find((b) => b.name === n);
  assert.equal(byName(after, 'service/shop/front/80'), byName(before, 'service/shop/front/80'));
  assert.deepEqual(byName(after, 'service/shop/cart/80')?.endpoints.map((e) => e.address), ['10.1.0.2']);
  assert.notEqual(after.ir.version, before.ir.version);
});
