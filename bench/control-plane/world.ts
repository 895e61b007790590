// The cluster the control-plane benchmark runs against: R Services in namespace `bench`, each
// with an EndpointSlice (five ready endpoints: 50 000 at 10 000 routes, the size issue 14 names)
// and one Service-parented HTTPRoute (GAMMA
// producer route) with a header-matched rule and a default rule. Route 0 is the one that
// changes: each change writes a new header value, a marker the simulated agents look for in the
// frames they receive, so "this agent runs the change" needs no table parsing.
import type { FakeObject } from '../../test/support/fake-apiserver/index.ts';
import type { SubscriptionTarget } from '../../api/wire.ts';

export const NAMESPACE = 'bench';
export const GW = 'gateway.networking.k8s.io/v1';
export const SERVICE_PORT = 80;
/** Ready endpoints in each Service's slice. */
export const ENDPOINTS_PER_SERVICE = 5;

/** ClusterIP of Service i: 10.96.0.1 upwards, inside the default 10.96.0.0/12 range. */
export function clusterIp(i: number): string {
  const n = i + 1;
  return `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export function routeObject(i: number, headerValue: string): FakeObject {
  const backend = { name: `svc-${i}`, port: SERVICE_PORT };
  return {
    apiVersion: GW, kind: 'HTTPRoute', metadata: { name: `route-${i}`, namespace: NAMESPACE },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: `svc-${i}`, port: SERVICE_PORT }],
      rules: [
        { matches: [{ headers: [{ name: 'x-bench', value: headerValue }] }], backendRefs: [backend] },
        { backendRefs: [backend] },
      ],
    },
  };
}

/** Pod IP of endpoint e of Service i: 10.1.0.1 upwards, distinct up to 65 535 endpoints in all. */
export function endpointIp(i: number, e: number): string {
  const n = i * ENDPOINTS_PER_SERVICE + e + 1;
  return `10.${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * Service i's EndpointSlice (ENDPOINTS_PER_SERVICE ready endpoints). An endpoint-only change
 * rewrites it with a marker as the first endpoint's nodeName, which agents see in the endpoints
 * they are sent.
 */
export function endpointSliceObject(i: number, nodeName?: string): FakeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-a`, namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, e) => ({
      addresses: [endpointIp(i, e)], conditions: { ready: true }, ...(e === 0 && nodeName ? { nodeName } : {}),
    })),
  };
}

/** Every object of a cluster with `routes` Services and routes. */
export function world(routes: number): FakeObject[] {
  const out: FakeObject[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }];
  for (let i = 0; i < routes; i++) {
    out.push({
      apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: NAMESPACE },
      spec: { clusterIP: clusterIp(i), ports: [{ name: 'http', port: SERVICE_PORT, targetPort: 8080, protocol: 'TCP' }] },
    });
    out.push(endpointSliceObject(i));
    out.push(routeObject(i, 'initial'));
  }
  return out;
}

/**
 * What simulated agent `a` subscribes to: Service 0 (the one that changes, shared by every
 * agent) and one Service of its own among the others, as a sidecar that calls two Services.
 */
export function agentTargets(a: number, routes: number): SubscriptionTarget[] {
  const targets: SubscriptionTarget[] = [{ kind: 'destination', address: clusterIp(0), port: SERVICE_PORT }];
  if (routes > 1) targets.push({ kind: 'destination', address: clusterIp(1 + (a % (routes - 1))), port: SERVICE_PORT });
  return targets;
}
