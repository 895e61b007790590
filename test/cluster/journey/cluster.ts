// The journey's cluster: the box (real control plane and Jaeger) with the node network, the
// service proxy, the load balancer and the test kubelet on it, started together and stopped together (each layer
// stopped even when another fails to), plus the few reads every journey step repeats.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBox, type Box, type BoxApi } from '../box/index.ts';
import { startKubelet, type Kubelet } from '../kubelet/index.ts';
import { createNodeNetwork, startLoadBalancer, startServiceProxy, type NodeNetwork, type ServiceProxy } from '../net/index.ts';

export interface JourneyCluster {
  box: Box;
  net: NodeNetwork;
  proxy: ServiceProxy;
  kubelet: Kubelet;
  stop(): Promise<void>;
}

type ContainerStatus = { name: string; state: Record<string, unknown>; ready?: boolean };

export interface PodObj {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { serviceAccountName?: string; nodeName?: string; containers: { name: string; image: string }[]; initContainers?: { name: string; image: string; restartPolicy?: string }[] };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}

export async function startJourneyCluster(): Promise<JourneyCluster> {
  const stops: (() => Promise<void> | undefined)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (err) {
        process.stderr.write(`journey teardown: ${(err as Error).message}\n`);
      }
    }
  };
  try {
    const net = await createNodeNetwork();
    stops.push(() => net.destroy());
    // Jaeger listens on the bridge so pods (the proxies' OTLP exporters) reach it.
    const box = await startBox({ apiServerBindAddress: net.gateway, serviceClusterIpRange: net.serviceCidr, jaegerListenHost: net.gateway });
    stops.push(() => box.stop());
    const proxy = await startServiceProxy(box.clientFor('system:kube-proxy', []).api, net);
    stops.push(() => proxy.stop());
    // The ingress's LoadBalancer Service gets an address, as a cloud would give it one.
    const lb = startLoadBalancer(box.admin, net.loadBalancerPrefix);
    stops.push(() => lb.stop());
    const kubelet = await startKubelet({ box, net, proxy, podsDir: join(box.logsDir, 'pods') });
    stops.push(() => kubelet.stop());
    return { box, net, proxy, kubelet, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function create(api: BoxApi, path: string, body: unknown): Promise<void> {
  const res = await api.post(path, body);
  assert.equal(res.status, 201, `POST ${path}: ${JSON.stringify(res.body)}`);
}

export async function listPods(api: BoxApi, ns: string, selector = ''): Promise<PodObj[]> {
  const res = await api.get(`/api/v1/namespaces/${ns}/pods${selector ? `?labelSelector=${encodeURIComponent(selector)}` : ''}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { items: PodObj[] }).items;
}

export const isReady = (p: PodObj): boolean => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * Waits for exactly `count` Running, Ready pods matching selector. A Failed pod ends the wait at
 * once (a Deployment's pod never should), and the error says what every pod was doing.
 */
export async function readyPods(api: BoxApi, ns: string, selector: string, count: number, timeoutMs = 90_000): Promise<PodObj[]> {
  const deadline = Date.now() + timeoutMs;
  let last: PodObj[] = [];
  while (Date.now() < deadline) {
    last = await listPods(api, ns, selector).catch(() => last);
    if (last.length === count && last.every((p) => p.status.phase === 'Running' && isReady(p))) return last;
    if (last.some((p) => p.status.phase === 'Failed')) break;
    await sleep(250);
  }
  throw new Error(`waiting for ${count} Ready pods ${selector} in ${ns}: saw ${last.length}:\n${last.map(describePod).join('\n')}`);
}

/** One line per pod: phase, readiness and each container's state (what `kubectl get pods` and describe show). */
export function describePod(p: PodObj): string {
  const states = [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])].map((c) => `${c.name}=${JSON.stringify(c.state)}`);
  return `${p.metadata.name} ${p.status.phase ?? '?'} ready=${isReady(p)} ${states.join(' ')}`;
}

export type Condition = { type: string; status: string; reason?: string; message?: string; observedGeneration?: number };

export const condition = (conditions: Condition[] | undefined, type: string): Condition | undefined => conditions?.find((c) => c.type === type);
