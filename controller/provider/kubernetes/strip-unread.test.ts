import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSnapshot } from 'node:v8';
import type { KubernetesObject } from '@kubernetes/client-node';
import { LAST_APPLIED, stripEndpointSlice, stripNamespace, stripPod, stripService, stripUnread, transformFor, UNREAD_METADATA } from './strip-unread.ts';
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

test('a Service keeps its name, namespace, resourceVersion, type, cluster IPs and ports (name, number, protocol, appProtocol)', () => {
  const svc = {
    apiVersion: 'v1', kind: 'Service', metadata: meta,
    spec: {
      type: 'ClusterIP', clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'], selector: { app: 'reviews' }, sessionAffinity: 'None',
      ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster',
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }, { port: 53, targetPort: 53, nodePort: 30053, protocol: 'UDP' }],
    },
    status: { loadBalancer: {} },
  } as unknown as KubernetesObject;
  assert.deepEqual(stripService(svc), {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews-0', namespace: 'shop', resourceVersion: '7' },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7'], ports: [{ name: 'http', port: 80, protocol: 'TCP', appProtocol: 'http' }, { port: 53, protocol: 'UDP' }] },
  });
  assert.deepEqual(stripService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }), { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } });
  assert.equal((svc as unknown as { spec: { ports: unknown[] } }).spec.ports.length, 2, 'the input is not modified');
});

test('a LoadBalancer Service keeps its load balancer addresses (the Gateways\' addresses), nothing else of its status', () => {
  const svc = {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'meshlet-ingress', namespace: 'meshlet-system' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.9', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }, { hostname: 'lb.example.com' }] }, conditions: [{ type: 'x' }] },
  } as unknown as KubernetesObject;
  assert.deepEqual((stripService(svc) as unknown as { status: unknown }).status, { loadBalancer: { ingress: [{ ip: '192.0.2.10' }, { hostname: 'lb.example.com' }] } });
  const pending = { ...svc, status: { loadBalancer: {} } } as unknown as KubernetesObject;
  assert.equal((stripService(pending) as unknown as { status?: unknown }).status, undefined);
});

test('an EndpointSlice keeps the Service-name label, addressType, port names and numbers, and what translation reads of each endpoint', () => {
  const es = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: {
      ...meta, labels: { 'kubernetes.io/service-name': 'reviews', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', app: 'reviews' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-12-07T04:00:00Z' },
    },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
    endpoints: [
      { addresses: ['10.1.0.1'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'h', nodeName: 'n1', zone: 'z1',
        targetRef: { kind: 'Pod', name: 'reviews-0', namespace: 'shop', uid: 'u', resourceVersion: '9' }, hints: { forZones: [{ name: 'z1' }] }, deprecatedTopology: { a: 'b' } },
      { addresses: ['10.1.0.2'], conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.1.0.3'] },
    ],
  } as unknown as KubernetesObject;
  assert.deepEqual(stripEndpointSlice(es), {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'reviews-0', namespace: 'shop', resourceVersion: '7', labels: { 'kubernetes.io/service-name': 'reviews' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }],
    endpoints: [
      { addresses: ['10.1.0.1'], nodeName: 'n1', zone: 'z1', targetRef: { kind: 'Pod', name: 'reviews-0', namespace: 'shop' } },
      { addresses: ['10.1.0.2'], conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.1.0.3'] },
    ],
  });
});

test('endpoint conditions are dropped only when they say what their absence says (ready, serving = ready, not terminating)', () => {
  const cases: [Record<string, unknown>, Record<string, unknown> | undefined][] = [
    [{ ready: true }, undefined],
    [{ ready: true, serving: true, terminating: false }, undefined],
    [{ serving: true }, undefined],
    [{}, undefined],
    [{ ready: false }, { ready: false }],
    [{ ready: false, serving: false }, { ready: false, serving: false }],
    [{ ready: true, serving: false }, { ready: true, serving: false }],
    [{ serving: false }, { serving: false }],
    [{ ready: false, serving: true }, { ready: false, serving: true }],
    [{ ready: true, terminating: true }, { ready: true, terminating: true }],
    [{ ready: 'yes' }, { ready: 'yes' }],
  ];
  for (const [given, kept] of cases) {
    const out = stripEndpointSlice({ metadata: { name: 'e' }, endpoints: [{ addresses: ['10.1.0.1'], conditions: given }] } as unknown as KubernetesObject) as unknown as { endpoints: { conditions?: unknown }[] };
    assert.deepEqual(out.endpoints[0]!.conditions, kept, JSON.stringify(given));
  }
});

test('a Namespace keeps its labels and annotations, not its spec or status', () => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: meta, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } as unknown as KubernetesObject;
  assert.deepEqual(stripNamespace(ns), { apiVersion: 'v1', kind: 'Namespace', metadata: kept });
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
  // What the per-kind transforms drop, with values that would change the outcome if read.
  const kindNoise = (o: KubeObject): KubeObject => {
    const labels = { ...o.metadata.labels, app: 'noise' };
    if (o.kind === 'Service') {
      return { ...o, metadata: { ...o.metadata, labels, generation: 4, creationTimestamp: '2026-01-01T00:00:00Z' },
        spec: { ...o.spec, selector: { app: 'other' }, sessionAffinity: 'ClientIP', ipFamilies: ['IPv6'], ports: (o.spec!.ports as Record<string, unknown>[]).map((p) => ({ ...p, targetPort: 9999, nodePort: 30001 })) },
        status: { loadBalancer: { ingress: [{ ip: '192.0.2.77', ipMode: 'Proxy' }] }, conditions: [{ type: 'LoadBalancerPortsError', status: 'True' }] } };
    }
    if (o.kind === 'EndpointSlice') {
      return { ...o, metadata: { ...o.metadata, labels, annotations: { ...o.metadata.annotations, 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z' } },
        ports: (o.ports as Record<string, unknown>[]).map((p) => ({ ...p, protocol: 'UDP', appProtocol: 'grpc' })),
        endpoints: (o.endpoints as Record<string, unknown>[]).map((e) => ({ ...e, hostname: 'h', hints: { forZones: [{ name: 'z9' }] }, deprecatedTopology: { z: 'z9' },
          ...(e.targetRef ? { targetRef: { ...(e.targetRef), uid: 'pod-uid', resourceVersion: '3' } } : {}) })) };
    }
    if (o.kind === 'Namespace') return { ...o, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } };
    return o;
  };
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
    service('pay', 'billing', [{ name: 'http', port: 80, appProtocol: 'kubernetes.io/h2c' }, { name: 'dns', port: 53, protocol: 'UDP' }], '10.0.0.2'),
    endpointSlice('cart', 'shop', ['10.1.0.1'], undefined, 'cart-0'),
    // Every reading of the conditions: not ready, serving while terminating, the defaults spelled out, zone and node.
    { ...endpointSlice('cart', 'shop', ['10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']), metadata: { name: 'cart-def', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } },
      endpoints: [
        { addresses: ['10.1.0.3'], conditions: { ready: false } },
        { addresses: ['10.1.0.4'], conditions: { ready: false, serving: true, terminating: true }, zone: 'z1', nodeName: 'n1' },
        { addresses: ['10.1.0.5'], conditions: { ready: true, serving: true, terminating: false } },
        { addresses: ['10.1.0.6'], conditions: { serving: false } },
      ] },
    endpointSlice('pay', 'billing', ['10.1.0.2'], [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353 }], 'pay-0'),
    pod('cart-0', 'shop', 'cart-sa', '10.1.0.1'),
    pod('pay-0', 'billing', 'pay-sa', '10.1.0.2'),
    referenceGrant('billing', { kind: 'HTTPRoute', namespace: 'shop' }, { kind: 'Service' }),
    httpRoute('mesh', 'shop', { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }, { name: 'pay', namespace: 'billing', port: 80 }] }] }),
    { ...httpRoute('edge', 'shop', { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: ['shop.example'], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] }),
      status: { parents: [{ parentRef: { name: 'other' }, controllerName: 'example.com/other', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 3 }] }] } },
    { apiVersion: 'policy.meshlet.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'pods', namespace: 'shop', generation: 1 },
      spec: { targetRefs: [{ group: '', kind: 'Pod', name: 'cart-0' }], action: 'ALLOW', rules: [{ sources: [{ type: 'ServiceAccount', serviceAccount: { name: 'web' } }] }] } },
  ].map(noise).map(kindNoise);
  const cached = raw.map((o) => transformFor(o.kind, o.apiVersion)(structuredClone(o) as unknown as KubernetesObject) as unknown as KubeObject);
  for (const o of cached) for (const f of UNREAD_METADATA) if (f !== 'uid' || o.kind !== 'Pod') assert.equal((o.metadata as unknown as Record<string, unknown>)[f], undefined, `${o.kind} ${f}`);
  const before = translate(buildSnapshot(raw).snapshot);
  const after = translate(buildSnapshot(cached).snapshot);
  assert.ok(before.ir.backends && Object.keys(before.ir.backends).length >= 2, 'the world has backends with endpoints');
  assert.match(JSON.stringify(before.ir), /cart-sa/, 'endpoint identities come from the Pods');
  const eps = JSON.stringify(before.ir.backends);
  for (const want of ['"address":"10.1.0.3","port":8080,"ready":false,"serving":false', '"ready":false,"serving":true,"terminating":true,"zone":"z1","nodeName":"n1"', '"address":"10.1.0.6","port":8080,"ready":true,"serving":false']) {
    assert.ok(eps.includes(want), `the world exercises the endpoint conditions: ${want}`);
  }
  const cachedSvc = cached.find((o) => o.kind === 'Service')!;
  // the load balancer's addresses are kept (the runner reads them: the Gateways' addresses)
  assert.deepEqual(cachedSvc.status, { loadBalancer: { ingress: [{ ip: '192.0.2.77' }] } }, 'the per-kind transform ran');
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
