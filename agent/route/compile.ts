// compileTable(): everything route() needs, built once per routing table version — gateway
// ports by name and number, Service frontends by ClusterIP:port, virtual hosts by hostname,
// rules by path, regexes compiled. route() then does map lookups and walks only the rules that
// can match the request's path, so its cost does not grow with the size of the table.
import type {
  GatewayIR, GatewayPortIR, ListenerIR, RouteSetIR, RoutingTable, ServiceFrontendIR, ServicePortIR, VirtualHostIR,
} from '../../api/routing-table.ts';
import { indexVirtualHosts, type VirtualHostIndex } from './host-match.ts';

export interface CompiledListener {
  listener: ListenerIR;
  vhosts: VirtualHostIndex;
}

export interface CompiledGatewayPort {
  gateway: GatewayIR;
  port: GatewayPortIR;
  /** In the table's order: most specific hostname first. */
  listeners: CompiledListener[];
}

export interface CompiledRouteSet {
  set: RouteSetIR;
  vhosts: VirtualHostIndex;
}

export interface CompiledServicePort {
  service: ServiceFrontendIR;
  port: ServicePortIR;
  producer: CompiledRouteSet | null;
  consumers: Map<string, CompiledRouteSet>;
}

/** Opaque to callers: build with compileTable(), pass to route() and explain(). */
export interface CompiledTable {
  readonly table: RoutingTable;
  readonly gateways: Map<string, Map<number, CompiledGatewayPort>>;
  /** Keyed by serviceKey(address, port). */
  readonly services: Map<string, CompiledServicePort>;
  /**
   * Whether a rule route() can match mirrors requests (a RequestMirror filter on the rule or on
   * one of its backends). Known at the swap: the data plane's fast path, which hands mirrored
   * requests to the general path, asked it of the table on the first request routed on it, by a
   * walk of every object of the table (1-8 ms at 1 000 routes, with a GC of its own; ADR 0016).
   */
  readonly mirrors: boolean;
}

/**
 * Canonical form of an original-destination address: lower case, no brackets, IPv4-mapped
 * IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports) as plain IPv4.
 */
export function canonicalAddress(address: string): string {
  let a = address.trim().toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1]! : a;
}

export function serviceKey(address: string, port: number): string {
  return `${canonicalAddress(address)}|${port}`;
}

function compileRouteSet(set: RouteSetIR): CompiledRouteSet {
  return { set, vhosts: indexVirtualHosts(set.virtualHosts) };
}

function mirrorsIn(vhosts: readonly VirtualHostIR[]): boolean {
  for (const vh of vhosts) {
    for (const rule of vh.rules) {
      for (const f of rule.filters) if (f.type === 'RequestMirror') return true;
      if (rule.action.type !== 'Forward') continue;
      for (const b of rule.action.backends) for (const f of b.filters) if (f.type === 'RequestMirror') return true;
    }
  }
  return false;
}

/** Throws RoutingTableInvalidError only for tables validate() would refuse (bad regex). */
export function compileTable(table: RoutingTable): CompiledTable {
  const gateways = new Map<string, Map<number, CompiledGatewayPort>>();
  let mirrors = false;
  for (const gateway of table.gateways) {
    const ports = new Map<number, CompiledGatewayPort>();
    for (const port of gateway.ports) {
      for (const l of port.listeners) mirrors ||= mirrorsIn(l.virtualHosts);
      ports.set(port.port, {
        gateway,
        port,
        listeners: port.listeners.map((listener) => ({ listener, vhosts: indexVirtualHosts(listener.virtualHosts) })),
      });
    }
    gateways.set(gateway.name, ports);
  }
  const services = new Map<string, CompiledServicePort>();
  for (const service of table.services) {
    for (const port of service.ports) {
      mirrors ||= (port.producer !== null && mirrorsIn(port.producer.virtualHosts)) || port.consumers.some((c) => mirrorsIn(c.routes.virtualHosts));
      const compiled: CompiledServicePort = {
        service,
        port,
        producer: port.producer ? compileRouteSet(port.producer) : null,
        consumers: new Map(port.consumers.map((c) => [c.namespace, compileRouteSet(c.routes)])),
      };
      // Two Services never share a ClusterIP; if a broken table says so, the first one wins.
      for (const ip of service.clusterIPs) {
        const key = serviceKey(ip, port.port);
        if (!services.has(key)) services.set(key, compiled);
      }
    }
  }
  return { table, gateways, services, mirrors };
}
