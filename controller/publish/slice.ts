// sliceTable(): the part of the routing table one agent needs, and nothing else, so a sidecar's
// memory tracks what its pod uses rather than the size of the mesh. Pure and deterministic: the
// same table and subscriptions always give the same slice, byte for byte, versioned by content,
// and the slice passes validate() whenever the table does (every backend and secret a kept node
// references is kept with it).
import type {
  BackendIR, FilterIR, GatewayIR, PolicyIR, RouteSetIR, RoutingTable, SecretIR, ServiceFrontendIR, ServicePortIR, VirtualHostIR,
} from '../../api/routing-table.ts';
import { hash } from 'node:crypto';
import { canonicalJson, entryListPart, entryVersion, isEntryVersion, withVersion } from '../../api/version.ts';
import type { SubscriptionTarget } from '../../api/wire.ts';
import type { TableVersioner } from '../translate/table-version.ts';

export interface Subscriptions {
  /** The agent's pod: selects consumer routes (namespace) and inbound backends (pod). */
  agent?: { namespace: string; pod: string } | null;
  targets: Iterable<SubscriptionTarget>;
}

/** Lower case, no brackets, IPv4-mapped IPv6 as plain IPv4: how agents and tables may differ. */
export function canonicalIp(address: string): string {
  let a = address.trim().toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1]! : a;
}

interface TableIndex {
  /** `ip|port` → frontend and port. */
  frontends: Map<string, { frontend: ServiceFrontendIR; port: ServicePortIR }>;
  backends: Map<string, BackendIR>;
  secrets: Map<string, SecretIR>;
  /** `namespace/name` → Gateway. */
  gateways: Map<string, GatewayIR>;
}

// Built once per table and shared by every agent's slice: slicing then costs what the agent
// subscribed to, not what the table holds.
const indexes = new WeakMap<RoutingTable, TableIndex>();
/** A table that differs from another only in some backends (see derivedTable()). */
const derived = new WeakMap<RoutingTable, { from: RoutingTable; backends: Map<string, BackendIR> }>();

/**
 * Says that `next` is `from` with only `backends` replaced (an endpoint patch): its index, if
 * ever needed, is `from`'s with those backends swapped in, not a walk over the whole table.
 */
export function derivedTable(next: RoutingTable, from: RoutingTable, backends: Map<string, BackendIR>): void {
  derived.set(next, { from, backends });
}

function indexOf(table: RoutingTable): TableIndex {
  let ix = indexes.get(table);
  if (ix) return ix;
  const d = derived.get(table);
  const base = d && indexes.get(d.from);
  if (d && base) {
    const backends = new Map(base.backends);
    for (const [name, b] of d.backends) backends.set(name, b);
    ix = { ...base, backends };
    indexes.set(table, ix);
    return ix;
  }
  ix = { frontends: new Map(), backends: new Map(), secrets: new Map(), gateways: new Map() };
  for (const frontend of table.services) {
    for (const ip of frontend.clusterIPs) for (const port of frontend.ports) ix.frontends.set(`${canonicalIp(ip)}|${port.port}`, { frontend, port });
  }
  for (const b of table.backends) ix.backends.set(b.name, b);
  for (const s of table.secrets) ix.secrets.set(s.name, s);
  for (const g of table.gateways) ix.gateways.set(`${g.source.namespace}/${g.source.name}`, g);
  indexes.set(table, ix);
  return ix;
}

function filterBackends(filters: FilterIR[], out: Set<string>): void {
  for (const f of filters) if (f.type === 'RequestMirror') out.add(f.backend);
}

function vhostBackends(vhosts: VirtualHostIR[], out: Set<string>): void {
  for (const vh of vhosts) {
    for (const rule of vh.rules) {
      filterBackends(rule.filters, out);
      if (rule.action.type !== 'Forward') continue;
      for (const wb of rule.action.backends) {
        if (wb.backend !== null) out.add(wb.backend);
        filterBackends(wb.filters, out);
      }
    }
  }
}

function routeSetBackends(set: RouteSetIR | null, out: Set<string>): void {
  if (set) vhostBackends(set.virtualHosts, out);
}

/**
 * A sidecar enforces the policies governing its own pod, and sees only those endpoints of them
 * (another pod's addresses are none of its business). Chosen by pod name, not by inbound
 * subscriptions: an injected sidecar subscribes none (its inbound traffic goes straight to the
 * app), and a policy must reach it all the same.
 */
function ownPolicies(table: RoutingTable, agent: Subscriptions['agent']): PolicyIR[] {
  if (!agent) return [];
  const out: PolicyIR[] = [];
  for (const p of table.policies) {
    const endpoints = p.endpoints.filter((e) => e.namespace === agent.namespace && e.podName === agent.pod);
    if (endpoints.length > 0) out.push(endpoints.length === p.endpoints.length ? p : { ...p, endpoints });
  }
  return out;
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Cut frontends per table entry, by namespace and ports wanted: dropped with the entry. */
const cuts = new WeakMap<ServiceFrontendIR, Map<string, ServiceFrontendIR>>();

/**
 * A frontend as one agent sees it: only the ports it subscribed to, consumer routes only from
 * its own namespace. The table's own entry when nothing is cut, and otherwise one cut object per
 * (entry, namespace, ports), so every slice that holds the same view shares the object — and its
 * JSON, with a versioner: a change to a Service that 1 000 agents call is serialised once, not
 * once per agent.
 */
export function cutFrontend(frontend: ServiceFrontendIR, wanted: ReadonlySet<number>, ns: string | null): ServiceFrontendIR {
  const ownOnly = (p: ServicePortIR): boolean => ns === null || p.consumers.every((c) => c.namespace === ns);
  if (frontend.ports.every((p) => wanted.has(p.port) && ownOnly(p))) return frontend;
  // The view is built once per key; later agents with the same view only look it up.
  const key = `${ns ?? ''}|${frontend.ports.filter((p) => wanted.has(p.port)).map((p) => p.port).join(',')}`;
  let views = cuts.get(frontend);
  if (!views) cuts.set(frontend, (views = new Map<string, ServiceFrontendIR>()));
  let view = views.get(key);
  if (!view) {
    const ports = frontend.ports.filter((p) => wanted.has(p.port))
      .map((p): ServicePortIR => (ownOnly(p) ? p : { ...p, consumers: p.consumers.filter((c) => c.namespace === ns) }));
    views.set(key, (view = { ...frontend, ports }));
  }
  return view;
}

/** Backends a frontend entry (or cut view) refers to, per entry object: shared by every slice holding it. */
const entryBackends = new WeakMap<ServiceFrontendIR, ReadonlySet<string>>();

export function frontendBackends(entry: ServiceFrontendIR): ReadonlySet<string> {
  let out = entryBackends.get(entry) as Set<string> | undefined;
  if (!out) {
    out = new Set<string>();
    for (const p of entry.ports) {
      out.add(p.defaultBackend);
      routeSetBackends(p.producer, out);
      for (const c of p.consumers) routeSetBackends(c.routes, out);
    }
    entryBackends.set(entry, out);
  }
  return out;
}

/**
 * The slice for one agent: the Service frontends it subscribed to (only the subscribed ports,
 * consumer routes only for its own namespace), the backends behind its inbound ports, the
 * Gateways it subscribed to, and every backend and secret those reference.
 */
export function sliceTable(table: RoutingTable, subs: Subscriptions, versioner?: TableVersioner, entryRule = false): RoutingTable {
  const ix = indexOf(table);
  const ns = subs.agent?.namespace ?? null;
  const ports = new Map<ServiceFrontendIR, Set<number>>();
  const gateways = new Set<GatewayIR>();
  const backendNames = new Set<string>();
  const secretNames = new Set<string>();
  const inbound = new Set<number>();
  for (const t of subs.targets) {
    if (t.kind === 'destination') {
      const hit = ix.frontends.get(`${canonicalIp(t.address)}|${t.port}`);
      if (hit) ports.set(hit.frontend, (ports.get(hit.frontend) ?? new Set()).add(hit.port.port));
    } else if (t.kind === 'inbound') {
      inbound.add(t.port);
    } else if (t.kind === 'gateway') {
      const g = ix.gateways.get(`${t.namespace}/${t.name}`);
      if (g) gateways.add(g);
    } else {
      for (const g of table.gateways) gateways.add(g);
    }
  }
  const services: ServiceFrontendIR[] = [];
  for (const [frontend, wanted] of ports) {
    const entry = cutFrontend(frontend, wanted, ns);
    for (const b of frontendBackends(entry)) backendNames.add(b);
    services.push(entry);
  }
  for (const g of gateways) {
    for (const p of g.ports) {
      for (const l of p.listeners) {
        for (const c of l.certificates) secretNames.add(c);
        vhostBackends(l.virtualHosts, backendNames);
      }
    }
  }
  if (inbound.size > 0 && subs.agent) {
    const { namespace, pod } = subs.agent;
    for (const b of table.backends) {
      if (b.namespace === namespace && b.endpoints.some((e) => e.podName === pod && inbound.has(e.port))) backendNames.add(b.name);
    }
  }
  const pick = <T>(names: Set<string>, from: Map<string, T>): T[] => [...names].flatMap((n) => {
    const v = from.get(n);
    return v === undefined ? [] : [v];
  });
  const content = {
    apiVersion: table.apiVersion,
    gateways: [...gateways].sort(byName),
    services: services.sort(byName),
    backends: pick(backendNames, ix.backends).sort(byName),
    secrets: pick(secretNames, ix.secrets).sort(byName),
    policies: ownPolicies(table, subs.agent),
  };
  return versioner ? versioned(content, sliceVersion(content, versioner, entryRule)) : withVersion(content);
}

/**
 * `{ ...content, version }` spelt out: the same fields in the same order (a slice's JSON, and so
 * its update frame, is byte for byte what it was), without the object spread's generic copy (a
 * change reaching 1 000 agents with slices of their own builds 1 000 of these).
 */
export function versioned(content: Omit<RoutingTable, 'version'>, version: string): RoutingTable {
  return {
    apiVersion: content.apiVersion, gateways: content.gateways, services: content.services, backends: content.backends,
    secrets: content.secrets, policies: content.policies, version,
  };
}

/**
 * An entry's kept JSON, flat. The versioner builds a big entry's JSON by appending (a tree of
 * pieces, cheap to build around a long rules list), and V8 keeps such a string as that tree
 * until something flattens it; a join copies out of the tree without flattening it. Every slice
 * holding the entry would then walk the tree again: at 1 000 agents sharing a changed Service,
 * ~17 µs per slice version against ~4.5 µs flat (the bench's slice, in process). Reading one
 * character flattens the string in place, once: later reads cost nothing. A speed hint only;
 * the text is the same either way.
 */
function flatJson(versioner: TableVersioner, v: unknown): string {
  const json = versioner.json(v);
  json.charCodeAt(0);
  return json;
}

/** A list's part of an entry-rule version, by list object: lists are never changed in place. */
const listParts = new WeakMap<readonly unknown[], string>();

/**
 * entryVersion(content) (api/version.ts, ADR 0025) with each list's part kept per list object: a
 * rebased slice shares every list but the one the change touched with its last slice, so per
 * agent only that list's part is built again (from its entries' kept digests), not the whole
 * text of keys and digests (a route change reaching 1 000 agents versions 1 000 slices).
 */
function entryRuleVersion(content: Omit<RoutingTable, 'version'>, versioner: TableVersioner): string {
  const json = (v: unknown): string => versioner.json(v);
  const listPart = (list: readonly unknown[]): string => {
    let part = list.length === 0 ? '[]' : listParts.get(list);
    if (part === undefined) listParts.set(list, (part = entryListPart(list, json)));
    return part;
  };
  return entryVersion(content, json, listPart);
}

/**
 * computeVersion(content) from each entry's kept JSON, hashed in one call: a slice is a few KB,
 * and one native call for its joined JSON costs about half of one per piece (a route change
 * reaching 1 000 agents hashes 1 000 slices).
 */
export function sliceVersion(content: Omit<RoutingTable, 'version'>, versioner: TableVersioner, entryRule = false): string {
  // The entry rule (ADR 0025): each entry's digest once for every slice holding it, then one
  // hash of a few digests per slice, not of its whole JSON.
  if (entryRule) return entryRuleVersion(content, versioner);
  // Every piece in one list, joined once: one array and one join per slice, not one per section
  // as well (a change reaching 1 000 agents with slices of their own versions 1 000 slices).
  const parts: string[] = ['{'];
  const fields = content as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields).sort()) {
    const value = fields[key];
    if (value === undefined || key === 'version') continue;
    if (parts.length > 1) parts.push(',');
    parts.push(JSON.stringify(key), ':');
    if (Array.isArray(value)) {
      parts.push('[');
      for (let i = 0; i < value.length; i++) {
        if (i > 0) parts.push(',');
        parts.push(flatJson(versioner, value[i]));
      }
      parts.push(']');
    } else {
      // A string (apiVersion) is its own canonical JSON: no replacer walk per slice.
      parts.push(typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value));
    }
  }
  parts.push('}');
  return hash('sha256', parts.join(''), 'hex').slice(0, 16);
}

/**
 * A slice with some backends replaced by their new versions (an endpoint patch of the table it
 * came from), or the slice itself when it holds none of them. Equal to slicing the patched table
 * again unless the slice selected backends by endpoint (inbound subscriptions): the caller slices
 * those afresh.
 */
export function patchSlice(slice: RoutingTable, backends: Map<string, BackendIR>, versioner?: TableVersioner): RoutingTable {
  if (!slice.backends.some((b) => backends.has(b.name))) return slice;
  const content = {
    apiVersion: slice.apiVersion, gateways: slice.gateways, services: slice.services,
    backends: slice.backends.map((b) => backends.get(b.name) ?? b), secrets: slice.secrets, policies: slice.policies,
  };
  return versioner ? versioned(content, sliceVersion(content, versioner, isEntryVersion(slice.version))) : withVersion(content);
}

/** The pods (`namespace/pod`) some policy of the table governs: their slices are their own. */
export function policyPods(table: RoutingTable): Set<string> {
  const out = new Set<string>();
  for (const p of table.policies) for (const e of p.endpoints) if (e.podName) out.add(`${e.namespace}/${e.podName}`);
  return out;
}

/** Keys (`Kind/namespace/name`) of the routes whose rules appear in a table. */
export function routesIn(table: RoutingTable): Set<string> {
  const out = new Set<string>();
  const add = (vhosts: VirtualHostIR[]): void => {
    for (const vh of vhosts) for (const r of vh.rules) out.add(routeKey(r.source));
  };
  for (const g of table.gateways) for (const p of g.ports) for (const l of p.listeners) add(l.virtualHosts);
  for (const s of table.services) for (const key of frontendRoutes(s)) out.add(key);
  return out;
}

/** Route keys per frontend entry (or cut view) object: a slice's route set is the union of its entries'. */
const entryRoutes = new WeakMap<ServiceFrontendIR, readonly string[]>();

export function frontendRoutes(entry: ServiceFrontendIR): readonly string[] {
  let keys = entryRoutes.get(entry);
  if (!keys) {
    const out = new Set<string>();
    const add = (vhosts: VirtualHostIR[]): void => {
      for (const vh of vhosts) for (const r of vh.rules) out.add(routeKey(r.source));
    };
    for (const p of entry.ports) {
      if (p.producer) add(p.producer.virtualHosts);
      for (const c of p.consumers) add(c.routes.virtualHosts);
    }
    entryRoutes.set(entry, (keys = [...out]));
  }
  return keys;
}

export function routeKey(r: { kind: string; namespace: string; name: string }): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}
