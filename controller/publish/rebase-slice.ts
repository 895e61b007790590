// A route change reaching many agents, each with a slice of its own: the new slice of an agent
// is its last slice with the replaced entries swapped in, not the table sliced again. What changed
// is worked out once per table (entryDelta: which Service frontends and backends were replaced,
// whether any destination could now pick another frontend); each slice then costs the entries it
// holds that changed, plus its version hash. Where swapping is not the same as slicing again
// (a frontend's addresses or ports moved, a frontend came or went, the policies changed, the
// slice picks by endpoint or holds Gateways, a changed entry refers to other backends) it gives
// null and the caller slices afresh. rebase-slice.test.ts checks it equals sliceTable().
import type { BackendIR, RoutingTable, ServiceFrontendIR } from '../../api/routing-table.ts';
import { isEntryVersion, withVersion } from '../../api/version.ts';
import type { SubscriptionTarget } from '../../api/wire.ts';
import type { TableVersioner } from '../translate/table-version.ts';
import { cutFrontend, frontendBackends, sliceVersion, versioned } from './slice.ts';

export interface EntryDelta {
  /** Frontend name → its entry in the new table, for every frontend replaced (null: removed, or added). */
  services: Map<string, ServiceFrontendIR | null>;
  /** Backend name → its entry in the new table (null: removed), for every backend added, removed or replaced. */
  backends: Map<string, BackendIR | null>;
  /** Backends new in this table (a slice may now hold one it referred to before in vain). */
  addedBackends: string[];
  /** `section/name` of every entry added, removed or replaced in any section, policies aside. */
  keys: Set<string>;
  /** Entries replaced (the old object and the new one, same name), in any section but policies. */
  replaced: [object, object][];
  /** Some entry came or went. */
  addedOrRemoved: boolean;
  /**
   * No frontend came or went and none changed its addresses or ports, so every destination
   * subscription resolves to the frontend it resolved to before; and the apiVersion is the same.
   */
  sameSelection: boolean;
}

type Named = { name: string };

/** Entries of `next` replaced (same name, new object), added or removed against `prev`, by name. */
function sectionDelta<T extends Named>(prev: readonly T[], next: readonly T[], out: Map<string, T | null>, added: string[] | null, before: Map<string, T>): void {
  if (prev === next) return;
  // Translation keeps names in order and hands back unchanged entries as the same objects: walk
  // both in step while the names agree, and only fall back to a map where they do not.
  if (prev.length === next.length && next.every((x, i) => x.name === prev[i]!.name)) {
    for (let i = 0; i < next.length; i++) {
      const a = prev[i]!;
      const b = next[i]!;
      if (a !== b) {
        out.set(b.name, b);
        before.set(b.name, a);
      }
    }
    return;
  }
  const old = new Map(prev.map((x) => [x.name, x]));
  for (const x of next) {
    const a = old.get(x.name);
    old.delete(x.name);
    if (a === x) continue;
    out.set(x.name, x);
    if (a) before.set(x.name, a);
    else added?.push(x.name);
  }
  for (const name of old.keys()) out.set(name, null);
}

const sameList = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** What changed between two tables, once for every slice rebased onto `next`. */
export function entryDelta(prev: RoutingTable, next: RoutingTable): EntryDelta {
  const services = new Map<string, ServiceFrontendIR | null>();
  const oldServices = new Map<string, ServiceFrontendIR>();
  const backends = new Map<string, BackendIR | null>();
  const addedBackends: string[] = [];
  sectionDelta(prev.services, next.services, services, null, oldServices);
  const oldBackends = new Map<string, BackendIR>();
  sectionDelta(prev.backends, next.backends, backends, addedBackends, oldBackends);
  const gateways = new Map<string, Named | null>();
  const secrets = new Map<string, Named | null>();
  const oldGateways = new Map<string, Named>();
  const oldSecrets = new Map<string, Named>();
  sectionDelta<Named>(prev.gateways, next.gateways, gateways, null, oldGateways);
  sectionDelta<Named>(prev.secrets, next.secrets, secrets, null, oldSecrets);
  const keys = new Set<string>();
  const replaced: [object, object][] = [];
  let addedOrRemoved = false;
  const sections = [['gateways', gateways, oldGateways], ['services', services, oldServices], ['backends', backends, oldBackends], ['secrets', secrets, oldSecrets]] as const;
  for (const [section, m, old] of sections) {
    for (const [name, x] of m) {
      keys.add(`${section}/${name}`);
      const a = old.get(name);
      if (a && x) replaced.push([a, x]);
      else addedOrRemoved = true;
    }
  }
  let sameSelection = prev.apiVersion === next.apiVersion;
  for (const [name, b] of services) {
    const a = oldServices.get(name);
    if (!a || !b || !sameList(a.clusterIPs, b.clusterIPs) || !sameList(a.ports.map((p) => p.port), b.ports.map((p) => p.port))) sameSelection = false;
  }
  return { services, backends, addedBackends, keys, replaced, addedOrRemoved, sameSelection };
}

const byName = (a: Named, b: Named): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/**
 * A frontend entry (or cut view) of a slice → what a change put in its place: the new table's
 * entry cut alike, or null when the swap changes which backends it refers to (slice afresh). Kept
 * for the last change seen: every slice holding the view (1 000 agents calling one Service) gets
 * the answer without cutting it again (a Set of ports, a view key and two backend sets per agent).
 */
const swapped = new WeakMap<ServiceFrontendIR, { full: ServiceFrontendIR; ns: string | null; next: ServiceFrontendIR | null }>();

function swap(e: ServiceFrontendIR, full: ServiceFrontendIR, ns: string | null): ServiceFrontendIR | null {
  const kept = swapped.get(e);
  if (kept && kept.full === full && kept.ns === ns) return kept.next;
  let next: ServiceFrontendIR | null = cutFrontend(full, new Set(e.ports.map((p) => p.port)), ns);
  // Other backends referred to: the slice's backend list would change; slice it afresh.
  if (next !== e && !sameSet(frontendBackends(next), frontendBackends(e))) next = null;
  swapped.set(e, { full, ns, next });
  return next;
}

/**
 * The slice of the new table for the subscriptions `slice` was cut for (destinations only; the
 * agent in namespace `ns`), from `slice` and the table's `delta`: equal to sliceTable() of the new
 * table, or null where swapping entries is not enough. `samePolicies`: the new table's policies
 * are the old one's (by content), so the slice's own policies stand.
 */
export function rebaseSlice(
  slice: RoutingTable, delta: EntryDelta, targets: Iterable<SubscriptionTarget>, ns: string | null, samePolicies: boolean, versioner?: TableVersioner,
): RoutingTable | null {
  if (!delta.sameSelection || !samePolicies || slice.gateways.length > 0 || slice.secrets.length > 0) return null;
  for (const t of targets) if (t.kind !== 'destination') return null;
  let services = slice.services;
  for (let i = 0; i < services.length; i++) {
    const e = services[i]!;
    const full = delta.services.get(e.name);
    if (full === undefined) continue;
    if (full === null) return null;
    const next = swap(e, full, ns);
    if (next === null) return null;
    if (next === e) continue;
    if (services === slice.services) services = [...services];
    services[i] = next;
  }
  let backends = slice.backends;
  if (delta.backends.size > 0) {
    const out: BackendIR[] = [];
    for (const b of slice.backends) {
      const nb = delta.backends.get(b.name);
      if (nb === undefined) out.push(b);
      else if (nb !== null) out.push(nb);
    }
    // A backend a frontend referred to that the old table lacked: now there, so now held.
    let grew = false;
    for (const name of delta.addedBackends) {
      const nb = delta.backends.get(name);
      if (nb && services.some((s) => frontendBackends(s).has(name))) {
        out.push(nb);
        grew = true;
      }
    }
    if (grew) out.sort(byName);
    if (out.length !== slice.backends.length || out.some((b, i) => b !== slice.backends[i])) backends = out;
  }
  if (services === slice.services && backends === slice.backends) return slice;
  const content = { apiVersion: slice.apiVersion, gateways: slice.gateways, services, backends, secrets: slice.secrets, policies: slice.policies };
  // Versioned by the rule the agent's last slice was (the agent's hello chose it).
  return versioner ? versioned(content, sliceVersion(content, versioner, isEntryVersion(slice.version))) : withVersion(content);
}
