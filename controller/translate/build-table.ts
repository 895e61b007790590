// Assembles the routing table from the accepted attachments: gateway ports → listeners
// (isolation, most specific first) → virtual hosts → rules in precedence order; Service
// frontends for every ClusterIP Service → ports → producer and per-namespace consumer route
// sets; and only the backends and secrets something refers to. Everything sorted as
// api/routing-table.ts documents, then versioned by content hash.
import { ROUTING_TABLE_API_VERSION, type ConsumerRouteSetIR, type FilterIR, type GatewayIR, type GatewayPortIR, type RouteRuleIR, type RouteSetIR, type RoutingTable, type PolicyIR, type SecretIR, type ServiceFrontendIR, type VirtualHostIR } from '../../api/routing-table.ts';
import { withVersion } from '../../api/version.ts';
import type { GatewayParentResult } from './attach-gateway.ts';
import { clusterIPs, type MeshParentResult } from './attach-mesh.ts';
import type { BackendCatalog } from './backends.ts';
import { isLive, type Attached } from './conflicts.ts';
import { servicePorts } from './endpoints.ts';
import type { GatewayState } from './gateways.ts';
import { compareSpecificity } from './hostnames.ts';
import type { Lookup } from './lookup.ts';
import type { TranslationMemo } from './memo.ts';
import type { KubeObject } from './snapshot.ts';
import { sortRules } from './precedence.ts';
import type { RankedRule } from './rules.ts';
import { compareStrings, namespaceOf } from './util.ts';

function virtualHosts(byHost: Map<string, Map<string, RankedRule>>): VirtualHostIR[] {
  return [...byHost.entries()]
    .sort(([a], [b]) => compareSpecificity(a, b))
    .map(([hostname, rules]) => ({ hostname, rules: sortRules([...rules.values()]).map((r) => r.ir) }));
}

function addRules(byHost: Map<string, Map<string, RankedRule>>, hostname: string, rules: RankedRule[]): void {
  const set = byHost.get(hostname) ?? new Map<string, RankedRule>();
  for (const r of rules) set.set(r.ir.name, r);
  byHost.set(hostname, set);
}

function buildGateways(gateways: GatewayState[], attached: Attached<GatewayParentResult>[], secrets: Map<string, SecretIR>): GatewayIR[] {
  const out: GatewayIR[] = [];
  for (const g of gateways) {
    if (!g.accepted.status) continue;
    const ports = new Map<number, GatewayPortIR>();
    const programmed = g.listeners.filter((l) => l.programmed)
      .sort((a, b) => compareSpecificity(a.hostname, b.hostname) || compareStrings(a.name, b.name));
    for (const l of programmed) {
      const byHost = new Map<string, Map<string, RankedRule>>();
      for (const a of attached) {
        if (!isLive(a)) continue;
        for (const at of a.parent.attachments) {
          if (at.listener !== l) continue;
          for (const h of at.hostnames) addRules(byHost, h, a.route.rules);
        }
      }
      for (const s of l.certificates) secrets.set(s.name, s);
      const port = ports.get(l.port) ?? { port: l.port, protocol: l.protocol, listeners: [] };
      port.listeners.push({
        name: `gateway/${g.namespace}/${g.name}/listener/${l.name}`,
        listenerName: l.name,
        hostname: l.hostname,
        certificates: [...new Set(l.certificates.map((s) => s.name))],
        virtualHosts: virtualHosts(byHost),
      });
      ports.set(l.port, port);
    }
    out.push({
      name: `gateway/${g.namespace}/${g.name}`,
      source: { kind: 'Gateway', namespace: g.namespace, name: g.name },
      className: g.className,
      addresses: g.addresses,
      ports: [...ports.values()].sort((a, b) => a.port - b.port),
    });
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

function routeSet(entries: Attached<MeshParentResult>[]): RouteSetIR | null {
  if (entries.length === 0) return null;
  const byHost = new Map<string, Map<string, RankedRule>>();
  for (const e of entries) addRules(byHost, '*', e.route.rules);
  return { kind: entries.some((e) => e.route.meta.kind === 'GRPCRoute') ? 'GRPCRoute' : 'HTTPRoute', virtualHosts: virtualHosts(byHost) };
}

function buildServices(lookup: Lookup, catalog: BackendCatalog, attached: Attached<MeshParentResult>[], memo: TranslationMemo | undefined): ServiceFrontendIR[] {
  const byService = new Map<string, Attached<MeshParentResult>[]>();
  for (const a of attached) {
    if (!isLive(a)) continue;
    const list = byService.get(a.parent.serviceKey);
    if (list) list.push(a);
    else byService.set(a.parent.serviceKey, [a]);
  }
  const out: ServiceFrontendIR[] = [];
  // The Lookup's own keys (`namespace/name`, kept with it): no key built per Service per round.
  for (const [key, svc] of lookup.services) {
    const live = byService.get(key) ?? [];
    const fe = memo ? memo.frontend(svc, key, live, () => frontend(svc, live, catalog)) : frontend(svc, live, catalog);
    if (!fe) continue;
    // A frontend handed back by the memo registered its default backends when it was built.
    if (memo) for (const p of fe.ports) catalog.register(svc, { port: p.port, name: p.portName, appProtocol: p.appProtocol }, p.defaultBackend);
    out.push(fe);
  }
  return memo ? memo.sorted('frontends', out, byEntryName) : out.sort(byEntryName);
}

const byEntryName = (a: { name: string }, b: { name: string }): number => compareStrings(a.name, b.name);

export function frontend(svc: KubeObject, live: Attached<MeshParentResult>[], catalog: BackendCatalog): ServiceFrontendIR | null {
  const ips = clusterIPs(svc);
  if (ips.length === 0) return null;
  const namespace = namespaceOf(svc);
  const ports = servicePorts(svc);
  return {
    name: `service/${namespace}/${svc.metadata.name}`,
    source: { kind: 'Service', namespace, name: svc.metadata.name },
    namespace,
    serviceName: svc.metadata.name,
    clusterIPs: ips,
    ports: ports.map((p) => {
      const here = live.filter((a) => a.parent.ports.some((x) => x.port === p.port));
      const consumerNs = [...new Set(here.map((a) => a.parent.consumerNamespace).filter((n): n is string => n !== null))].sort(compareStrings);
      const consumers: ConsumerRouteSetIR[] = [];
      for (const ns of consumerNs) {
        const set = routeSet(here.filter((a) => a.parent.consumerNamespace === ns));
        if (set) consumers.push({ namespace: ns, routes: set });
      }
      return {
        port: p.port,
        portName: p.name,
        appProtocol: p.appProtocol,
        defaultBackend: catalog.register(svc, p),
        producer: routeSet(here.filter((a) => a.parent.consumerNamespace === null)),
        consumers,
      };
    }),
  };
}

export function collectBackends(rules: RouteRuleIR[], used: Set<string>): void {
  const fromFilters = (fs: FilterIR[]) => { for (const f of fs) if (f.type === 'RequestMirror') used.add(f.backend); };
  for (const r of rules) {
    fromFilters(r.filters);
    if (r.action.type === 'Forward') {
      for (const b of r.action.backends) {
        if (b.backend !== null) used.add(b.backend);
        fromFilters(b.filters);
      }
    }
  }
}

/** The backends a frontend refers to: its ports' defaults and every rule's. */
function backendsOf(s: ServiceFrontendIR): Set<string> {
  const used = new Set<string>();
  for (const p of s.ports) {
    used.add(p.defaultBackend);
    const sets = [p.producer, ...p.consumers.map((c) => c.routes)];
    for (const set of sets) for (const vh of set?.virtualHosts ?? []) collectBackends(vh.rules, used);
  }
  return used;
}

/**
 * backendsOf(), kept per frontend object: table entries are never changed after translation and
 * incremental translation hands an unchanged frontend back as the same object, so its rules are
 * walked once, not every round (issue 14).
 */
const frontendBackendsKept = new WeakMap<ServiceFrontendIR, Set<string>>();
export function frontendBackends(s: ServiceFrontendIR): Set<string> {
  let used = frontendBackendsKept.get(s);
  if (!used) frontendBackendsKept.set(s, (used = backendsOf(s)));
  return used;
}

export function buildTable(
  lookup: Lookup, catalog: BackendCatalog, gateways: GatewayState[],
  gatewayAttached: Attached<GatewayParentResult>[], meshAttached: Attached<MeshParentResult>[], policies: PolicyIR[] = [],
  memo?: TranslationMemo,
): RoutingTable {
  const secrets = new Map<string, SecretIR>();
  const gatewayIR = buildGateways(gateways, gatewayAttached, secrets);
  const services = buildServices(lookup, catalog, meshAttached, memo);
  const used = new Set<string>();
  for (const g of gatewayIR) for (const p of g.ports) for (const l of p.listeners) for (const vh of l.virtualHosts) collectBackends(vh.rules, used);
  for (const s of services) for (const name of memo ? frontendBackends(s) : backendsOf(s)) used.add(name);
  return (memo?.withVersion ?? withVersion)({
    apiVersion: ROUTING_TABLE_API_VERSION,
    gateways: gatewayIR,
    services,
    backends: catalog.all(memo && ((xs, compare) => memo.sorted('backends', xs, compare))).filter((b) => used.has(b.name)),
    secrets: [...secrets.values()].sort((a, b) => compareStrings(a.name, b.name)),
    policies,
  });
}
