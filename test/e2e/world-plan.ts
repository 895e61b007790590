// What a conformance case's manifests say about pods: every EndpointSlice address is a pod
// (named by its targetRef) serving the slice's ports, and each pod backs one or more Services.
import type { KubeObject } from '../../controller/translate/snapshot.ts';

export interface PodPlan {
  ip: string;
  name: string;
  namespace: string;
  ports: Set<number>;
  /** The subset of `ports` that speak gRPC (appProtocol grpc or kubernetes.io/h2c). */
  grpcPorts: Set<number>;
}

export interface WorldPlan {
  pods: PodPlan[];
  /** pod name → the Services ("ns/name") whose endpoints include it */
  podServices: Map<string, Set<string>>;
  /** The /24 all pod addresses share, e.g. "10.244.1" (default 10.244.0 when there are none). */
  subnet: string;
}

interface SliceShape {
  metadata: { namespace?: string; labels?: Record<string, string> };
  ports?: { port?: number; appProtocol?: string }[];
  endpoints?: { addresses?: string[]; targetRef?: { name?: string; namespace?: string } }[];
}

export function planWorld(objects: KubeObject[], file: string): WorldPlan {
  const pods = new Map<string, PodPlan>();
  const podServices = new Map<string, Set<string>>();
  for (const o of objects.filter((x) => x.kind === 'EndpointSlice')) {
    const slice = o as unknown as SliceShape;
    const ns = slice.metadata.namespace ?? 'default';
    const svc = `${ns}/${slice.metadata.labels?.['kubernetes.io/service-name'] ?? '?'}`;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!ip) continue;
      const name = ep.targetRef?.name ?? `pod-${ip}`;
      const plan = pods.get(ip) ?? { ip, name, namespace: ep.targetRef?.namespace ?? ns, ports: new Set<number>(), grpcPorts: new Set<number>() };
      for (const p of slice.ports ?? []) {
        if (!p.port) continue;
        plan.ports.add(p.port);
        if (p.appProtocol === 'grpc' || p.appProtocol === 'kubernetes.io/h2c') plan.grpcPorts.add(p.port);
      }
      pods.set(ip, plan);
      (podServices.get(name) ?? podServices.set(name, new Set()).get(name)!).add(svc);
    }
  }
  const subnets = new Set([...pods.keys()].map((ip) => ip.split('.').slice(0, 3).join('.')));
  if (subnets.size > 1) throw new Error(`${file}: pod addresses must share one /24, got ${[...subnets].join(', ')}`);
  return { pods: [...pods.values()], podServices, subnet: [...subnets][0] ?? '10.244.0' };
}

/** echo.ts arguments serving one pod's ports (gRPC ports with the gRPC echo). */
export function echoPortArgs(p: PodPlan): string[] {
  return [...p.ports].flatMap((port) => [p.grpcPorts.has(port) ? '--grpc-port' : '--port', String(port)]);
}

/** echo.ts --listen arguments for many pods in one namespace, each on its own address. */
export function echoListenArgs(pods: PodPlan[]): string[] {
  return pods.flatMap((p) => [...p.ports].flatMap((port) => ['--listen', `${p.name}@${p.namespace}@${p.ip}:${port}${p.grpcPorts.has(port) ? '/grpc' : ''}`]));
}

/** A free host address in the subnet for a pod the manifests do not name (client, ingress). */
export function freeAddress(plan: WorldPlan, taken: string[] = []): string {
  const used = new Set([...plan.pods.map((p) => p.ip), ...taken]);
  for (let n = 2; n < 255; n++) if (!used.has(`${plan.subnet}.${n}`)) return `${plan.subnet}.${n}`;
  throw new Error(`no free address in ${plan.subnet}.0/24`);
}
