// Hand-made routing tables for data-plane tests: Services with ClusterIPs whose endpoints are
// real loopback servers, routes with filters/timeouts/retries, Gateways. Every table goes
// through withVersion() and validate(), so tests only run tables an agent would accept.
import {
  ROUTING_TABLE_API_VERSION, validate, withVersion,
  type ActionIR, type BackendIR, type FilterIR, type PolicyIR, type GatewayIR, type MatchIR, type RetryIR, type RouteRuleIR,
  type RoutingTable, type ServiceFrontendIR, type TimeoutsIR, type WeightedBackendIR,
} from '../../api/index.ts';

export interface EndpointSpec {
  port: number;
  address?: string;
  podName?: string;
  ready?: boolean;
}

export function backendName(namespace: string, name: string, port: number): string {
  return `service/${namespace}/${name}/${port}`;
}

export function backend(namespace: string, name: string, port: number, endpoints: EndpointSpec[], appProtocol: string | null = null): BackendIR {
  return {
    name: backendName(namespace, name, port), namespace, serviceName: name, port, appProtocol,
    endpoints: endpoints
      .map((e) => ({
        address: e.address ?? '127.0.0.1', port: e.port, ready: e.ready ?? true, serving: e.ready ?? true, terminating: false,
        zone: null, nodeName: null, podName: e.podName ?? null, identity: null,
      }))
      .sort((a, b) => (a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1)),
  };
}

export interface RuleSpec {
  route?: string;
  namespace?: string;
  index?: number;
  path?: MatchIR['path'];
  method?: string | null;
  headers?: MatchIR['headers'];
  queryParams?: MatchIR['queryParams'];
  filters?: FilterIR[];
  backends?: (Partial<WeightedBackendIR> & { backend: string | null })[];
  action?: ActionIR;
  timeouts?: TimeoutsIR | null;
  retry?: RetryIR | null;
}

export function rule(spec: RuleSpec): RouteRuleIR {
  const route = spec.route ?? 'route';
  const ns = spec.namespace ?? 'default';
  const i = spec.index ?? 0;
  return {
    name: `httproute/${ns}/${route}/rule/${i}/match/0`,
    source: { kind: 'HTTPRoute', namespace: ns, name: route, rule: i, match: 0, creationTimestamp: '2026-01-01T00:00:00Z' },
    match: { path: spec.path ?? { type: 'PathPrefix', value: '/' }, method: spec.method ?? null, headers: spec.headers ?? [], queryParams: spec.queryParams ?? [] },
    filters: spec.filters ?? [],
    action: spec.action ?? {
      type: 'Forward',
      backends: (spec.backends ?? []).map((b) => ({ weight: 1, filters: [], invalidReason: null, ...b })),
    },
    timeouts: spec.timeouts ?? null,
    retry: spec.retry ?? null,
  };
}

export interface ServiceSpec {
  namespace?: string;
  name: string;
  clusterIP: string;
  port: number;
  appProtocol?: string | null;
  /** Producer routes (one virtual host `*`), in precedence order. */
  rules?: RouteRuleIR[];
  consumers?: { namespace: string; rules: RouteRuleIR[] }[];
  kind?: 'HTTPRoute' | 'GRPCRoute';
}

export function service(spec: ServiceSpec): ServiceFrontendIR {
  const ns = spec.namespace ?? 'default';
  const kind = spec.kind ?? 'HTTPRoute';
  return {
    name: `service/${ns}/${spec.name}`,
    source: { kind: 'Service', namespace: ns, name: spec.name },
    namespace: ns,
    serviceName: spec.name,
    clusterIPs: [spec.clusterIP],
    ports: [{
      port: spec.port,
      portName: null,
      appProtocol: spec.appProtocol ?? null,
      defaultBackend: backendName(ns, spec.name, spec.port),
      producer: spec.rules ? { kind, virtualHosts: [{ hostname: '*', rules: spec.rules }] } : null,
      consumers: (spec.consumers ?? [])
        .map((c) => ({ namespace: c.namespace, routes: { kind, virtualHosts: [{ hostname: '*', rules: c.rules }] } }))
        .sort((a, b) => (a.namespace < b.namespace ? -1 : 1)),
    }],
  };
}

export interface GatewaySpec {
  namespace?: string;
  name: string;
  port: number;
  listeners: { name: string; hostname: string | null; vhosts: { hostname: string; rules: RouteRuleIR[] }[] }[];
}

export function gateway(spec: GatewaySpec): GatewayIR {
  const ns = spec.namespace ?? 'default';
  return {
    name: `gateway/${ns}/${spec.name}`,
    source: { kind: 'Gateway', namespace: ns, name: spec.name },
    className: 'meshlet',
    addresses: [],
    ports: [{
      port: spec.port,
      protocol: 'HTTP',
      listeners: spec.listeners.map((l) => ({
        name: `gateway/${ns}/${spec.name}/listener/${l.name}`,
        listenerName: l.name,
        hostname: l.hostname,
        certificates: [],
        virtualHosts: l.vhosts.map((v) => ({ hostname: v.hostname, rules: v.rules })),
      })),
    }],
  };
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function table(parts: { services?: ServiceFrontendIR[]; backends?: BackendIR[]; gateways?: GatewayIR[]; policies?: PolicyIR[] }): RoutingTable {
  return validate(withVersion({
    apiVersion: ROUTING_TABLE_API_VERSION,
    gateways: [...(parts.gateways ?? [])].sort(byName),
    services: [...(parts.services ?? [])].sort(byName),
    backends: [...(parts.backends ?? [])].sort(byName),
    secrets: [],
    policies: [...(parts.policies ?? [])].sort(byName),
  }));
}
