// What `meshlet dev` runs for a manifest directory, decided without I/O so it can be tested:
// a sample workload (echo server) for every pod that EndpointSlices place on a loopback
// address, each behind its own sidecar on that address; a client sidecar per namespace that
// has routes; and an ingress address per Gateway. Privileged ports are shifted (80 → 8080,
// 443 → 8443) when not running as root.
import type { KubeObject } from '../../controller/translate/snapshot.ts';

export interface PodPlan {
  namespace: string;
  pod: string;
  /** The pod's own loopback address: its sidecar's listeners and the app bind here. */
  address: string;
  /** Ports the Service targets on this pod (served by the pod's inbound sidecar). */
  ports: number[];
}

export interface GatewayPlan {
  namespace: string;
  name: string;
  /** Loopback address the ingress listens on for this Gateway. */
  address: string;
}

export interface DevPlan {
  pods: PodPlan[];
  gateways: GatewayPlan[];
  /** Namespaces that get a client sidecar (one outbound proxy per namespace). */
  clientNamespaces: string[];
}

/** The app behind a pod's sidecar listens here: the Service's target port shifted by 10000. */
export const APP_PORT_SHIFT = 10000;

export function listenPort(port: number, privileged: boolean): number {
  return port < 1024 && !privileged ? port + 8000 : port;
}

function isLoopbackV4(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

interface SliceEndpoint { addresses?: unknown; targetRef?: { kind?: string; name?: string; namespace?: string } }
interface SlicePort { port?: unknown }

export function planDev(objects: KubeObject[]): DevPlan {
  const pods = new Map<string, PodPlan>();
  for (const o of objects) {
    if (o.kind !== 'EndpointSlice') continue;
    const ports = ((o.ports ?? []) as SlicePort[]).map((p) => p.port).filter((p): p is number => typeof p === 'number');
    for (const e of (o.endpoints ?? []) as SliceEndpoint[]) {
      const addresses = Array.isArray(e.addresses) ? (e.addresses as unknown[]).filter((a): a is string => typeof a === 'string') : [];
      const address = addresses[0];
      if (!address || !isLoopbackV4(address) || address === '127.0.0.1') continue;
      const namespace = e.targetRef?.namespace ?? o.metadata.namespace ?? 'default';
      const pod = e.targetRef?.kind === 'Pod' && e.targetRef.name ? e.targetRef.name : `pod-${address}`;
      const plan = pods.get(address) ?? { namespace, pod, address, ports: [] };
      for (const p of ports) if (!plan.ports.includes(p)) plan.ports.push(p);
      pods.set(address, plan);
    }
  }
  const gateways = objects
    .filter((o) => o.kind === 'Gateway')
    .map((o) => ({ namespace: o.metadata.namespace ?? 'default', name: o.metadata.name }))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
    .map((g, i) => ({ ...g, address: `127.0.100.${i + 1}` }));
  const routeNamespaces = objects
    .filter((o) => o.kind === 'HTTPRoute' || o.kind === 'GRPCRoute')
    .map((o) => o.metadata.namespace ?? 'default');
  // `default` first: its client sidecar gets the well-known outbound port.
  const clientNamespaces = ['default', ...[...new Set(routeNamespaces)].filter((n) => n !== 'default').sort()];
  return {
    pods: [...pods.values()].map((p) => ({ ...p, ports: p.ports.sort((a, b) => a - b) })).sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true })),
    gateways,
    clientNamespaces,
  };
}

/** Client sidecar of namespace i: outbound on 127.0.0.1, port base + 100·i (15001, 15101, ...). */
export function clientPort(plan: DevPlan, namespace: string, base = 15001): number {
  const i = plan.clientNamespaces.indexOf(namespace);
  return base + 100 * Math.max(0, i);
}
