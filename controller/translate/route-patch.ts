// A route change that costs what it touches (issue 14). Incremental translation (incremental.ts)
// hands unchanged units back, but still walks every route, Service, backend and status each
// round: ~100 ms of CPU for a one-route change at 10 000 routes. When a snapshot differs from the
// last translated one only by route objects replaced in place (same kind, namespace and name, at
// the same position) whose old and new forms attach to Services only (GAMMA routes), what can
// change is bounded: those routes' units; the mesh conflicts, frontends and statuses of the
// Services they attach to (conflicts are decided per Service, ports and callers: conflicts.ts);
// and the backends those frontends refer to. This patches the last result with exactly those,
// reading per-Service indexes of the last round that are built once and kept up to date.
// Anything else (a Gateway parent, a route added, removed or moved, any other object changed)
// returns null and the caller translates in full. incremental.test.ts checks the results equal
// translate() over random in-place route edits.
import type { BackendIR, RoutingTable, ServiceFrontendIR } from '../../api/routing-table.ts';
import { isDeepStrictEqual } from 'node:util';
import type { MeshParentResult } from './attach-mesh.ts';
import { BackendCatalog, makeBackend } from './backends.ts';
import { collectBackends, frontend, frontendBackends } from './build-table.ts';
import { isLive, resolveMeshConflicts, type Attached } from './conflicts.ts';
import { routeOutcomes, routeUnit, type Parent, type RouteWork } from './index.ts';
import type { Lookup } from './lookup.ts';
import type { RouteUnit } from './memo.ts';
import { routeStatus, sameStatusInputs, type ParentOutcome } from './route-status.ts';
import type { RouteKind } from './rules.ts';
import type { KubeObject, Snapshot, StatusUpdate, TranslateResult } from './snapshot.ts';
import type { TableVersioner } from './table-version.ts';
import { recording, routeNameKey, sameButStatus, sameItems, sameLive, sameOutcomes, type KeptBackend, type KeptFrontend, type KeptStatus, type KeptUnit, type RouteDeps } from './unit-reuse.ts';
import { compareStrings, namespaceOf, nsName } from './util.ts';

/** What the translator kept of its last round, read and updated by a patch. */
export interface KeptState {
  units: Map<KubeObject, KeptUnit>;
  byName: Map<string, KubeObject>;
  statuses: Map<KubeObject, KeptStatus>;
  frontends: Map<string, KeptFrontend>;
  backends: Map<string, KeptBackend>;
  lookup: Lookup;
  versioner: TableVersioner;
}

/** What a patch changed, for the translator's stats. */
export interface PatchStats { routesBuilt: number; routesReused: number; frontendsBuilt: number; frontendsReused: number; backendsBuilt: number; statusesBuilt: number; statusesReused: number }

/** Snapshot fields a route patch needs unchanged (the same objects: each snapshot is a new array of them). */
const SAME_FIELDS = ['gatewayClasses', 'gateways', 'referenceGrants', 'meshes', 'namespaces', 'services', 'endpointSlices', 'secrets', 'pods', 'authorizationPolicies'] as const;

/** More replaced routes than this: a full incremental round (which then costs about as much). */
const MAX_PATCHED = 64;

/** Indexes of the kept round, built on the first patch after it and kept up to date by patches. */
interface RoundIndex {
  /** Route object → its position in `work`. */
  at: Map<KubeObject, number>;
  /** Service key → positions (ascending) of the routes with a mesh attachment to it. */
  byService: Map<string, number[]>;
  /** Status object → its position in the result's status list. */
  statusAt: Map<StatusUpdate, number>;
  /** Frontend → its position in the table's services. */
  frontendAt: Map<ServiceFrontendIR, number>;
  /** Backend name → how many frontends (and whether the Gateways) refer to it. */
  uses: Map<string, number>;
}

function meshKeys(parents: readonly Parent[] | RouteUnit['parents']): Set<string> {
  const keys = new Set<string>();
  for (const p of parents) if (p.type === 'mesh') keys.add('entry' in p ? p.entry.parent.serviceKey : p.parent.serviceKey);
  return keys;
}

const isMesh = (p: RouteUnit['parents'][number]): p is Extract<RouteUnit['parents'][number], { type: 'mesh' }> => p.type === 'mesh';

function insertSorted(xs: number[], x: number): void {
  let i = xs.length;
  while (i > 0 && xs[i - 1]! > x) i--;
  if (xs[i - 1] !== x) xs.splice(i, 0, x);
}

function indexRound(work: RouteWork[], result: TranslateResult): RoundIndex {
  const at = new Map<KubeObject, number>();
  const byService = new Map<string, number[]>();
  work.forEach((w, i) => {
    at.set(w.obj, i);
    for (const key of meshKeys(w.parents)) {
      const list = byService.get(key);
      if (list) list.push(i);
      else byService.set(key, [i]);
    }
  });
  const uses = new Map<string, number>();
  const add = (name: string, n: number): void => void uses.set(name, (uses.get(name) ?? 0) + n);
  const gatewayUsed = new Set<string>();
  for (const g of result.ir.gateways) for (const p of g.ports) for (const l of p.listeners) for (const vh of l.virtualHosts) collectBackends(vh.rules, gatewayUsed);
  for (const name of gatewayUsed) add(name, 1);
  for (const fe of result.ir.services) for (const name of frontendBackends(fe)) add(name, 1);
  return {
    at, byService, uses,
    statusAt: new Map(result.statuses.map((u, i) => [u, i])),
    frontendAt: new Map(result.ir.services.map((fe, i) => [fe, i])),
  };
}

/** A replaced route: its old and new objects, position, and the new unit (built or handed back). */
interface Replaced { old: KubeObject; obj: KubeObject; kind: RouteKind; i: number; unit: KeptUnit; built: boolean }

export class RoutePatch {
  #round: { snapshot: Snapshot; work: RouteWork[]; result: TranslateResult } | undefined;
  #index: RoundIndex | undefined;

  /** A full round's routes and result: what the next patch starts from. */
  kept(snapshot: Snapshot, work: RouteWork[], result: TranslateResult): void {
    this.#round = { snapshot, work, result };
    this.#index = undefined;
  }

  /** Forgets the kept round (a round that did not report its routes). */
  clear(): void {
    this.#round = undefined;
    this.#index = undefined;
  }

  /** translate(snapshot) by patching the last result, or null when the change is not one a patch covers. */
  patch(snapshot: Snapshot, state: KeptState, stats: PatchStats): TranslateResult | null {
    const round = this.#round;
    if (!round) return null;
    const prev = round.snapshot;
    if (SAME_FIELDS.some((f) => !sameItems(prev[f], snapshot[f])) || prev.trustDomain !== snapshot.trustDomain
      || prev.gatewayApiBundleVersion !== snapshot.gatewayApiBundleVersion || !isDeepStrictEqual(prev.gatewayAddresses, snapshot.gatewayAddresses)) return null;
    const replacedAt: [KubeObject, KubeObject, RouteKind][] = [];
    for (const [field, kind] of [['httpRoutes', 'HTTPRoute'], ['grpcRoutes', 'GRPCRoute']] as const) {
      const a = prev[field];
      const b = snapshot[field];
      if (a.length !== b.length) return null;
      for (let i = 0; i < b.length; i++) {
        if (a[i] === b[i]) continue;
        if (replacedAt.length === MAX_PATCHED || routeNameKey(a[i]!) !== routeNameKey(b[i]!)) return null;
        replacedAt.push([a[i]!, b[i]!, kind]);
      }
    }
    if (replacedAt.length === 0) return null;
    const index = this.#index ??= indexRound(round.work, round.result);
    const { lookup } = state;
    // Backends made by this patch, reusing the kept ones (same Lookup: same slices and Pods).
    const made = new Map<string, KeptBackend>();
    const catalog = new BackendCatalog(lookup, (name, svc, port, l) => {
      const kept = state.backends.get(name);
      if (kept && kept.svc === svc) return kept.ir;
      const ir = makeBackend(name, svc, port, l);
      made.set(name, { svc, slices: l.slices.get(nsName(namespaceOf(svc), svc.metadata.name)) ?? [], ir });
      return ir;
    });
    // 1. The replaced routes' units: handed back when only the status differs, built otherwise.
    const replaced: Replaced[] = [];
    for (const [old, obj, kind] of replacedAt) {
      const i = index.at.get(old);
      const kept = state.units.get(old);
      if (i === undefined || !kept || kept.kind !== kind || kept.unit.parents.some((p) => p.type !== 'mesh')) return null;
      if (sameButStatus(old, obj)) {
        replaced.push({ old, obj, kind, i, unit: kept, built: false });
        continue;
      }
      const deps: RouteDeps = { services: new Map(), grants: new Map(), registered: [] };
      const r = recording(lookup, catalog, deps);
      const unit = routeUnit(obj, kind, r.lookup, r.catalog);
      if (unit.parents.some((p) => p.type !== 'mesh')) return null;
      replaced.push({ old, obj, kind, i, unit: { kind, unit, deps }, built: true });
    }
    // 2. The Services whose attachments moved, and every route attached to them.
    const newWork = new Map<number, RouteWork>();
    const services = new Set<string>();
    for (const r of replaced) {
      if (!r.built) continue;
      for (const key of meshKeys(round.work[r.i]!.parents)) services.add(key);
      for (const key of meshKeys(r.unit.unit.parents)) services.add(key);
    }
    const positions = new Map<string, number[]>();
    for (const key of services) {
      const list = [...index.byService.get(key) ?? []];
      for (const r of replaced) {
        if (!r.built) continue;
        const j = list.indexOf(r.i);
        if (j >= 0) list.splice(j, 1);
        if (r.unit.unit.parents.some((p) => p.type === 'mesh' && p.parent.serviceKey === key)) insertSorted(list, r.i);
      }
      positions.set(key, list);
    }
    const replacedOf = new Map(replaced.map((r) => [r.i, r]));
    // Each affected route's attachments, with fresh entries (conflict unset) on the affected Services.
    const affected = new Set<number>(replaced.map((r) => r.i));
    for (const list of positions.values()) for (const i of list) affected.add(i);
    for (const i of affected) {
      const r = replacedOf.get(i);
      const parents: Parent[] = r?.built
        ? r.unit.unit.parents.filter(isMesh).map((p) => ({ type: 'mesh', entry: { route: p.route, parent: p.parent, conflict: null } }))
        : round.work[i]!.parents.map((p) => (p.type === 'mesh' && services.has(p.entry.parent.serviceKey) ? { type: 'mesh', entry: { route: p.entry.route, parent: p.entry.parent, conflict: null } } : p));
      newWork.set(i, { obj: r ? r.obj : round.work[i]!.obj, parents });
    }
    // Conflicts are decided per Service key: resolving the affected Services' entries alone is exact.
    const entriesOf = (key: string): Attached<MeshParentResult>[] => {
      const out: Attached<MeshParentResult>[] = [];
      for (const i of positions.get(key)!) for (const p of newWork.get(i)!.parents) if (p.type === 'mesh' && p.entry.parent.serviceKey === key) out.push(p.entry);
      return out;
    };
    const byKey = new Map([...services].map((key) => [key, entriesOf(key)]));
    resolveMeshConflicts([...byKey.values()].flat());
    // 3. Statuses of the affected routes (and of replaced routes whose unit was handed back).
    const statuses = round.result.statuses.slice();
    /** [old route object, new one, its kept status, the status it replaces] */
    const keptStatuses: [KubeObject, KubeObject, KeptStatus, StatusUpdate | null][] = [];
    for (const [i, w] of newWork) {
      const old = replacedOf.get(i)?.old ?? w.obj;
      const outcomes: ParentOutcome[] = routeOutcomes(w);
      const kept = state.statuses.get(old);
      let status: StatusUpdate | null;
      if (kept && sameOutcomes(kept.outcomes, outcomes) && sameStatusInputs(kept.obj, w.obj, outcomes.length)) {
        status = kept.status;
        stats.statusesReused++;
      } else {
        status = routeStatus(w.obj, outcomes);
        stats.statusesBuilt++;
      }
      const before = kept?.status ?? null;
      if (before !== status) {
        const at = before ? index.statusAt.get(before) : undefined;
        // A status appearing or going away moves the list: not a patch's to do.
        if (!status || at === undefined) return null;
        statuses[at] = status;
      }
      keptStatuses.push([old, w.obj, { obj: w.obj, outcomes, status }, before]);
    }
    // 4. The affected Services' frontends, and the backends they refer to.
    const servicesOut = round.result.ir.services.slice();
    const frontends: [string, KeptFrontend][] = [];
    const uses = new Map<string, number>();
    const use = (name: string, n: number): void => void uses.set(name, (uses.get(name) ?? index.uses.get(name) ?? 0) + n);
    for (const [key, entries] of byKey) {
      const svc = lookup.services.get(key);
      if (!svc) continue;
      const live = entries.filter(isLive);
      const kept = state.frontends.get(key);
      if (!kept?.ir) return null;
      if (kept.svc === svc && sameLive(kept.live, live)) {
        stats.frontendsReused++;
        continue;
      }
      const ir = frontend(svc, live, catalog);
      const at = index.frontendAt.get(kept.ir);
      if (!ir || at === undefined) return null;
      stats.frontendsBuilt++;
      servicesOut[at] = ir;
      frontends.push([kept.key, { key: kept.key, svc, live, ir }]);
      for (const name of frontendBackends(kept.ir)) use(name, -1);
      for (const name of frontendBackends(ir)) use(name, 1);
    }
    let backends = round.result.ir.backends;
    if ([...uses].some(([name, n]) => (n > 0) !== (index.uses.get(name) ?? 0) > 0)) {
      const gone = new Set([...uses].filter(([, n]) => n === 0).map(([name]) => name));
      const added: BackendIR[] = [];
      for (const [name, n] of uses) {
        if (n === 0 || (index.uses.get(name) ?? 0) > 0) continue;
        const ir = made.get(name)?.ir ?? state.backends.get(name)?.ir;
        if (!ir) return null; // referred to but never registered: a full round decides
        added.push(ir);
      }
      backends = [...backends.filter((b) => !gone.has(b.name)), ...added].sort((a, b) => compareStrings(a.name, b.name));
    } else {
      backends = backends.slice();
    }
    const ir = round.result.ir;
    const table: Omit<RoutingTable, 'version'> = { apiVersion: ir.apiVersion, gateways: ir.gateways, services: servicesOut, backends, secrets: ir.secrets, policies: ir.policies };
    const result: TranslateResult = { statuses, ir: state.versioner.withLazyVersion(table) };
    // Commit: nothing above changed what was kept.
    for (const r of replaced) {
      state.units.delete(r.old);
      state.units.set(r.obj, r.unit);
      state.byName.set(routeNameKey(r.obj), r.obj);
      index.at.delete(r.old);
      index.at.set(r.obj, r.i);
      if (r.built) stats.routesBuilt++;
      else stats.routesReused++;
    }
    for (const [old, obj, kept, before] of keptStatuses) {
      state.statuses.delete(old);
      state.statuses.set(obj, kept);
      if (before && before !== kept.status) {
        index.statusAt.set(kept.status!, index.statusAt.get(before)!);
        index.statusAt.delete(before);
      }
    }
    for (const [key, fe] of frontends) {
      const before = state.frontends.get(key)!.ir!;
      if (before !== fe.ir) {
        index.frontendAt.set(fe.ir!, index.frontendAt.get(before)!);
        index.frontendAt.delete(before);
      }
      state.frontends.set(key, fe);
    }
    for (const [name, b] of made) {
      state.backends.set(name, b);
      stats.backendsBuilt++;
    }
    for (const [name, n] of uses) index.uses.set(name, n);
    for (const [key, list] of positions) index.byService.set(key, list);
    const work = round.work;
    for (const [i, w] of newWork) work[i] = w;
    this.#round = { snapshot, work, result };
    return result;
  }
}
