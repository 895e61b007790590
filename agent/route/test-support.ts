// Builders for hand-written routing tables in the matcher's tests: short to write, and every
// table they produce goes through withVersion() and validate(), so tests only ever exercise
// tables an agent would accept.
import {
  validate, withVersion,
  type ActionIR, type BackendIR, type FilterIR, type GatewayIR, type ListenerIR, type MatchIR,
  type RouteRuleIR, type RoutingTable, type ServiceFrontendIR, type ServicePortIR, type VirtualHostIR,
} from '../../api/index.ts';
import type { RequestDescriptor } from './types.ts';

export const BACKENDS = ['a', 'b', 'c', 'default', 'mirror'];

export function backendName(short: string): string {
  return `service/ns/${short}/80`;
}

export function backends(): BackendIR[] {
  return BACKENDS.map((b) => ({ name: backendName(b), namespace: 'ns', serviceName: b, port: 80, appProtocol: null, endpoints: [] }));
}

export interface RuleSpec {
  path?: MatchIR['path'];
  method?: string | null;
  headers?: MatchIR['headers'];
  queryParams?: MatchIR['queryParams'];
  filters?: FilterIR[];
  action?: ActionIR;
  backend?: string;
}

export function forward(short: string, filters: FilterIR[] = []): ActionIR {
  return { type: 'Forward', backends: [{ backend: backendName(short), weight: 1, filters, invalidReason: null }] };
}

export function rule(name: string, spec: RuleSpec = {}): RouteRuleIR {
  return {
    name: `httproute/ns/${name}/rule/0/match/0`,
    source: { kind: 'HTTPRoute', namespace: 'ns', name, rule: 0, match: 0, creationTimestamp: '2026-01-01T00:00:00Z' },
    match: {
      path: spec.path ?? { type: 'PathPrefix', value: '/' },
      method: spec.method ?? null,
      headers: spec.headers ?? [],
      queryParams: spec.queryParams ?? [],
    },
    filters: spec.filters ?? [],
    action: spec.action ?? forward(spec.backend ?? 'a'),
    timeouts: null,
    retry: null,
  };
}

export function vhost(hostname: string, rules: RouteRuleIR[]): VirtualHostIR {
  return { hostname, rules };
}

export function listener(listenerName: string, hostname: string | null, vhosts: VirtualHostIR[]): ListenerIR {
  return { name: `gateway/ns/gw/listener/${listenerName}`, listenerName, hostname, certificates: [], virtualHosts: vhosts };
}

export const GATEWAY = 'gateway/ns/gw';

export function gatewayTable(listeners: ListenerIR[], port = 80): RoutingTable {
  const gw: GatewayIR = {
    name: GATEWAY, source: { kind: 'Gateway', namespace: 'ns', name: 'gw' }, className: 'meshlet', addresses: [],
    ports: [{ port, protocol: 'HTTP', listeners }],
  };
  return validate(withVersion({ apiVersion: 'meshlet.dev/routing/v1alpha1', gateways: [gw], services: [], backends: backends(), secrets: [], policies: [] }));
}

export const SERVICE_IP = '10.96.0.10';

export function servicePort(partial: Partial<ServicePortIR> = {}): ServicePortIR {
  return { port: 80, portName: null, appProtocol: null, defaultBackend: backendName('default'), producer: null, consumers: [], ...partial };
}

export function meshTable(ports: ServicePortIR[], clusterIPs: string[] = [SERVICE_IP]): RoutingTable {
  const svc: ServiceFrontendIR = {
    name: 'service/ns/echo', source: { kind: 'Service', namespace: 'ns', name: 'echo' }, namespace: 'ns', serviceName: 'echo', clusterIPs, ports,
  };
  return validate(withVersion({ apiVersion: 'meshlet.dev/routing/v1alpha1', gateways: [], services: [svc], backends: backends(), secrets: [], policies: [] }));
}

export function request(path: string, partial: Partial<RequestDescriptor> = {}): RequestDescriptor {
  const q = path.indexOf('?');
  return {
    method: 'GET', scheme: 'http', authority: 'example.com',
    path: q < 0 ? path : path.slice(0, q), query: q < 0 ? '' : path.slice(q + 1), headers: {},
    ...partial,
  };
}


export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}
