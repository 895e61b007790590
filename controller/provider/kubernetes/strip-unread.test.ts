import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSnapshot } from 'node:v8';
import type { KubernetesObject } from '@kubernetes/client-node';
import { LAST_APPLIED, stripPod, stripUnread, transformFor, UNREAD_METADATA } from './strip-unread.ts';
import { intern, MAX_INTERNED_LENGTH } from './intern.ts';
import { translate } from '../../translate/index.ts';
import { buildSnapshot, type KubeObject } from '../../translate/snapshot.ts';
import { MESHED_POD_LABEL } from '../../../api/pod-annotations.ts';
import { endpointSlice, gateway, gatewayClass, httpListener, httpRoute, referenceGrant, service, tlsSecret } from '../../translate/test-fixtures.ts';

const meta = {
  name: 'reviews-0', namespace: 'shop', uid: 'u1', resourceVersion: '7', generation: 2, creationTimestamp: '2026-01-01T00:00:00Z',
  labels: { app: 'reviews', 'meshlet.dev/mesh': 'meshlet' },
  annotations: { [LAST_APPLIED]: '{"a":1}', 'meshlet.dev/inject': 'true' },
  managedFields: [{ manager: 'kubectl', operation: 'Apply' }], ownerReferences: [{ kind: 'ReplicaSet', name: 'rs' }],
  finalizers: ['x/y'], generateName: 'reviews-', selfLink: '/api/v1/x',
};
const kept = { name: 'reviews-0', namespace: 'shop', resourceVersion: '7', generation: 2, creationTimestamp: '2026-01-01T00:00:00Z', labels: meta.labels, annotations: { 'meshlet.dev/inject': 'true' } };

test('any object: managedFields, the last-applied copy and the other unread metadata go, everything else stays', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } } as unknown as KubernetesObject;
  assert.deepEqual(stripUnread(svc), {
    apiVersion: 'v1', kind: 'Service', spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } }, metadata: kept,
  });
  assert.equal(meta.managedFields.length, 1, 'the input is not modified');
});

test('a Pod keeps its uid, labels, service account and pod IPs, nothing else of spec and status', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: meta,
    spec: { serviceAccountName: 'reviews', containers: [{ name: 'app', image: 'x', env: [{ name: 'A', value: 'b' }] }], volumes: [{ name: 'v' }] },
    status: { phase: 'Running', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }], conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'app' }] },
  } as unknown as KubernetesObject;
  const out = stripPod(pod) as unknown as { metadata: Record<string, unknown>; spec: unknown; status: unknown };
  assert.deepEqual(out.spec, { serviceAccountName: 'reviews' });
  assert.deepEqual(out.status, { podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }] });
  assert.deepEqual(out.metadata, { ...kept, uid: 'u1' });
  assert.deepEqual(stripPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {}, status: {} });
});

test('the cached form carries the served apiVersion and kind (list items have none)', () => {
  const item = { metadata: { name: 'r', namespace: 'shop' }, spec: {} } as KubernetesObject;
  assert.deepEqual(transformFor('HTTPRoute', 'gateway.networking.k8s.io/v1')(item), { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'shop' }, spec: {} });
  assert.deepEqual(transformFor('Pod', 'v1')({ metadata: { name: 'p', uid: 'u' }, spec: { nodeName: 'n' } } as KubernetesObject), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', uid: 'u' }, spec: {}, status: {} });
});

// What translation reads: a world touching every kind it reads (Gateway with a TLS listener and
// its Secret, routes in two namespaces with a ReferenceGrant, Services, EndpointSlices whose
// endpoints name Pods for their identity, AuthorizationPolicy Pod targets), each object carrying
// every field the transform drops, with values that would change the outcome if anything read
// them. Translating the raw and the cached forms must give the same table and statuses.
test('translation reads none of what the transform drops: raw and cached objects translate alike', () => {
  const noise = (o: KubeObject, i: number): KubeObject => ({
    ...o,
    metadata: {
      ...o.metadata, uid: `uid-${i}`, managedFields: [{ manager: `m${i}`, fieldsV1: { 'f:spec': {} } }], ownerReferences: [{ kind: 'X', name: `o${i}`, uid: `x${i}` }],
      finalizers: [`f/${i}`], generateName: `g${i}-`, selfLink: `/x/${i}`,
      annotations: { ...o.metadata.annotations, [LAST_APPLIED]: JSON.stringify({ spec: { hostnames: ['evil.example'] } }) },
    } as KubeObject['metadata'],
  });
  const pod = (name: string, ns: string, sa: string, ip: string): KubeObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app: name, [MESHED_POD_LABEL]: 'meshlet' } },
    spec: { serviceAccountName: sa, nodeName: 'node-1', containers: [{ name: 'app', image: 'img', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'False' }], hostIP: '192.0.2.9' },
  });
  const raw: KubeObject[] = [
    gatewayClass(),
    gateway('gw', [httpListener('web', 80), httpListener('tls', 443, { protocol: 'HTTPS', hostname: 'shop.example', tls: { certificateRefs: [{ name: 'cert' }] } })]),
    tlsSecret('cert', 'infra'),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a' } } },
    service('cart', 'shop', [{ name: 'http', port: 80 }], '10.0.0.1'),
    service('pay', 'billing', [{ name: 'http', port: 80 }], '10.0.0.2'),
    endpointSlice('cart', 'shop', ['10.1.0.1'], undefined, 'cart-0'),
    endpointSlice('pay', 'billing', ['10.1.0.2'], undefined, 'pay-0'),
    pod('cart-0', 'shop', 'cart-sa', '10.1.0.1'),
    pod('pay-0', 'billing', 'pay-sa', '10.1.0.2'),
    referenceGrant('billing', { kind: 'HTTPRoute', namespace: 'shop' }, { kind: 'Service' }),
    httpRoute('mesh', 'shop', { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }, { name: 'pay', namespace: 'billing', port: 80 }] }] }),
    { ...httpRoute('edge', 'shop', { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: ['shop.example'], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] }),
      status: { parents: [{ parentRef: { name: 'other' }, controllerName: 'example.com/other', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 3 }] }] } },
    { apiVersion: 'policy.meshlet.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'pods', namespace: 'shop', generation: 1 },
      spec: { targetRefs: [{ group: '', kind: 'Pod', name: 'cart-0' }], action: 'ALLOW', rules: [{ sources: [{ type: 'ServiceAccount', serviceAccount: { name: 'web' } }] }] } },
  ].map(noise);
  const cached = raw.map((o) => transformFor(o.kind, o.apiVersion)(structuredClone(o) as unknown as KubernetesObject) as unknown as KubeObject);
  for (const o of cached) for (const f of UNREAD_METADATA) if (f !== 'uid' || o.kind !== 'Pod') assert.equal((o.metadata as unknown as Record<string, unknown>)[f], undefined, `${o.kind} ${f}`);
  const before = translate(buildSnapshot(raw).snapshot);
  const after = translate(buildSnapshot(cached).snapshot);
  assert.ok(before.ir.backends && Object.keys(before.ir.backends).length >= 2, 'the world has backends with endpoints');
  assert.match(JSON.stringify(before.ir), /cart-sa/, 'endpoint identities come from the Pods');
  assert.deepEqual(after, before);
});

/** How many string objects with exactly this value the heap holds. */
async function copiesInHeap(value: string): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const c of getHeapSnapshot()) chunks.push(c as Buffer);
  const snap = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const f = snap.snapshot.meta.node_fields;
  const [typeAt, nameAt] = [f.indexOf('type'), f.indexOf('name')];
  const stringType = snap.snapshot.meta.node_types[0].indexOf('string');
  let n = 0;
  for (let i = 0; i < snap.nodes.length; i += f.length) if (snap.nodes[i + typeAt] === stringType && snap.strings[snap.nodes[i + nameAt]!] === value) n++;
  return n;
}

test('cached objects share their short strings: one copy in the heap however many objects carry it', async () => {
  // Built at run time (not a literal, which V8 would already share) and parsed as the watch does.
  const message = `All references are resolved (${process.pid})`;
  const parse = (): KubernetesObject[] => Array.from({ length: 200 }, (_, i) => JSON.parse(JSON.stringify({
    metadata: { name: `r${i}`, namespace: 'shop' }, status: { parents: [{ conditions: [{ type: 'ResolvedRefs', message }] }] },
  })) as KubernetesObject);
  const plain = parse();
  assert.ok(await copiesInHeap(message) >= 200, 'JSON.parse gives each object its own copy');
  plain.length = 0;
  const transform = transformFor('HTTPRoute', 'gateway.networking.k8s.io/v1');
  const cached = parse().map(transform);
  assert.ok(await copiesInHeap(message) <= 2, 'one shared copy (a second may be the argument being interned)');
  assert.equal(cached.length, 200);
  assert.equal(JSON.stringify(cached[199]).includes(message), true, 'the value is unchanged');
  assert.equal(intern('x'.repeat(MAX_INTERNED_LENGTH + 1)).length, MAX_INTERNED_LENGTH + 1);
  assert.equal(intern('8080'), '8080', 'integer-like keys still come back equal');
});
