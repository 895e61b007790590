// Shared pieces of the controller integration tests: a small mesh + gateway scenario as
// Kubernetes objects, in-process controllers against a fake apiserver, and status readers.
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions, type FakeObject } from '../support/fake-apiserver/index.ts';
import { kubeClientFor } from '../support/kube-client-for.ts';
import { startController, type Controller, type ControllerOptions } from '../../controller/runners/index.ts';
import { Publisher } from '../../controller/publish/index.ts';
import { waitFor } from '../support/wait-for.ts';

export const GW = 'gateway.networking.k8s.io/v1';
export const XMESH = 'gateway.networking.x-k8s.io/v1alpha1';

export function scenario(): FakeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'edge' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'cart-x', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'cart' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }] },
    { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'meshlet' }, spec: { controllerName: 'meshlet.dev/gateway-controller' } },
    { apiVersion: GW, kind: 'Gateway', metadata: { name: 'web', namespace: 'edge' }, spec: { gatewayClassName: 'meshlet', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } }] } },
    { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'cart-mesh', namespace: 'shop' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] } },
    { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'cart-public', namespace: 'shop' },
      spec: { parentRefs: [{ name: 'web', namespace: 'edge' }], hostnames: ['shop.example.com'], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] } },
  ];
}

export async function fakeCluster(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  return startFakeApiServer({ objects: scenario(), ...opts });
}

export interface TestController extends Controller {
  logs: string[];
}

/** A controller with test-sized timings (lease 1 s, quick retries). */
export function controllerFor(api: FakeApiServer, identity: string, extra: Partial<ControllerOptions> = {}): TestController {
  const logs: string[] = [];
  const c = startController({
    client: kubeClientFor(api),
    log: (l) => logs.push(`${identity}: ${l}`),
    leaderElection: { namespace: 'meshlet-system', name: 'meshlet-controller', identity, leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 },
    debounceMs: 20, maxDelayMs: 200, gatewayAddresses: ['192.0.2.10'],
    backoff: { initialMs: 50, maxMs: 500 }, missingRetryMs: 10_000, meshRetryMs: 200,
    ...extra,
  });
  return Object.assign(c, { logs });
}

export interface Cond { type: string; status: string; reason: string; observedGeneration?: number; lastTransitionTime: string }

export function conditions(obj: FakeObject | undefined): Cond[] {
  return ((obj?.status as { conditions?: Cond[] } | undefined)?.conditions) ?? [];
}

export function cond(obj: FakeObject | undefined, type: string): Cond | undefined {
  return conditions(obj).find((c) => c.type === type);
}

/** Our parent entries' conditions of a route, by `controllerName parentName`. */
export function routeConds(api: FakeApiServer, name: string, ns = 'shop'): Record<string, Cond[]> {
  const parents = ((api.get(GW, 'HTTPRoute', name, ns)?.status as { parents?: { controllerName: string; parentRef: { name: string }; conditions: Cond[] }[] } | undefined)?.parents) ?? [];
  return Object.fromEntries(parents.map((p) => [`${p.controllerName} ${p.parentRef.name}`, p.conditions]));
}

export function statusWrites(api: FakeApiServer, since = 0): number {
  return api.requests.slice(since).filter((r) => r.method === 'PUT' && r.path.endsWith('/status')).length;
}

export interface TwoReplicas { a: TestController; b: TestController; pubA: Publisher; pubB: Publisher }

/**
 * Two controller replicas, each with a publisher of its own, sharing `api`: `a` leads (it is
 * started first and awaited), and both have published a table. Pings at the default 10 s, so a
 * loaded test process does not drop agents by itself. Everything started is pushed on `cleanup`.
 */
export async function twoReplicas(api: FakeApiServer, replicaAcks: ControllerOptions['replicaAcks'], cleanup: (() => Promise<void> | void)[]): Promise<TwoReplicas> {
  const quiet = (): void => undefined;
  const pubA = await Publisher.start({ host: '127.0.0.1', port: 0, log: quiet });
  cleanup.push(() => pubA.close());
  const pubB = await Publisher.start({ host: '127.0.0.1', port: 0, log: quiet });
  cleanup.push(() => pubB.close());
  const a = controllerFor(api, 'a', { publisher: pubA, propagationResyncMs: 50, replicaAcks });
  cleanup.push(() => a.close());
  await waitFor('a leads', () => a.elector?.isLeader, { timeoutMs: 3000 });
  const b = controllerFor(api, 'b', { publisher: pubB, propagationResyncMs: 50, replicaAcks });
  cleanup.push(() => b.close());
  await waitFor('both published a table', () => pubA.table !== null && pubB.table !== null);
  return { a, b, pubA, pubB };
}
