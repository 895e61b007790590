// Incremental translation: translate() again, but each unit of work whose inputs are the same
// objects as last round hands back last round's result instead of being computed again (the
// idea of Istio's krt collections and Envoy Gateway's per-resource translation, reduced to
// what meshlet's translation reads). The units and what each reads:
// - a route (its compiled forms and its Service parents): the route object, the Services it
//   looked up (present or absent) and the ReferenceGrants of the namespaces it referenced into,
//   recorded while it was built;
// - a Service frontend: the Service object and its live mesh attachments (the route units'
//   results, compared by identity: a reused unit gives the same objects);
// - a backend: the Service object, its EndpointSlices, the Pods (any Pod change rebuilds them
//   all, as the endpoint fast path does) and the trust domain;
// - a route's status: its parents' outcomes (conditions), compared by value, and what it reads
//   of the route object (identity, generation, other controllers' entries: sameStatusInputs), so
//   our own status write coming back as a new object leaves it as it was;
// - the snapshot's indexes (Lookup): reused while Services, slices, Pods, Namespaces and grants
//   are all the same objects, and then every route unit holds without checking its reads;
// - the table's version: the canonical JSON of each unchanged top-level entry is kept, so only
//   new entries are serialised (the digest is the same, api/version.ts versionOfChunks), and
//   only when the version is first read (TableVersioner.withLazyVersion).
// - the order of the status list, the frontends and the backends: last round's, while every item
//   is the same or compares equal to the one at its position (stable-order.ts);
// Everything that spans routes (Gateways, conflicts, precedence, the status list, policies) is
// computed afresh every round, so it stays correct by construction. Objects are compared by identity: the
// provider hands out the same object while it is unchanged. incremental.test.ts checks the
// result deep-equals translate() over random edit sequences.
import type { BackendIR, ServiceFrontendIR } from '../../api/routing-table.ts';
import { intern } from '../../common/intern.ts';
import type { MeshParentResult } from './attach-mesh.ts';
import { makeBackend, type BackendCatalog } from './backends.ts';
import type { Attached } from './conflicts.ts';
import type { ServicePort } from './endpoints.ts';
import type { CondState } from './listeners.ts';
import { sameStatusInputs, type ParentOutcome } from './route-status.ts';
import { translate } from './index.ts';
import type { Lookup } from './lookup.ts';
import type { RouteUnit, SortSeam, TranslationMemo } from './memo.ts';
import { StableOrder } from './stable-order.ts';
import type { RouteKind } from './rules.ts';
import type { KubeObject, Snapshot, StatusUpdate, TranslateResult } from './snapshot.ts';
import { TableVersioner } from './table-version.ts';
import { namespaceOf, nsName } from './util.ts';

interface RouteDeps {
  services: Map<string, KubeObject | undefined>;
  grants: Map<string, KubeObject[]>;
  registered: [KubeObject, ServicePort, string][];
}

interface KeptUnit {
  kind: RouteKind;
  unit: RouteUnit;
  deps: RouteDeps;
}

interface KeptFrontend {
  /** Its `namespace/name`, interned once when it was built. */
  key: string;
  svc: KubeObject;
  live: Attached<MeshParentResult>[];
  ir: ServiceFrontendIR | null;
}

interface KeptStatus {
  /** The route object it was built from. */
  obj: KubeObject;
  outcomes: ParentOutcome[];
  status: StatusUpdate | null;
}

interface KeptBackend {
  svc: KubeObject;
  slices: KubeObject[];
  ir: BackendIR;
}

/** Units computed afresh versus handed back, in the last translation. */
export interface IncrementalStats {
  routesBuilt: number;
  routesReused: number;
  frontendsBuilt: number;
  frontendsReused: number;
  backendsBuilt: number;
  backendsReused: number;
  /** Route statuses built (routeStatus()) versus handed back as last round's object. */
  statusesBuilt: number;
  statusesReused: number;
}

/**
 * A route object equal to `b` but for its status (and resourceVersion, managedFields): what our
 * own status write coming back makes. Status updates of routes make no snapshot, but the next
 * one holds the new objects; a unit is built from the spec and metadata alone (the route's
 * status is computed apart, from the new object), so it is handed back. Without this the first
 * change after a status pass over 10 000 routes rebuilt and re-serialised them all (issue 14:
 * a 3.1 s route change at 10 000 routes, ~14 s of CPU at load 26).
 */
function sameButStatus(a: KubeObject, b: KubeObject): boolean {
  if (a.kind !== b.kind || a.metadata.generation !== b.metadata.generation) return false;
  // Compared in place (two JSON strings per route were most of the first change after a status
  // pass at 10 000 routes once the statuses themselves were kept, issue 14).
  return sameExcept(a as unknown as Rec, b as unknown as Rec, NOT_SPEC) && sameExcept(a.metadata as unknown as Rec, b.metadata as unknown as Rec, NOT_META);
}

type Rec = Record<string, unknown>;
const NOT_SPEC: ReadonlySet<string> = new Set(['status', 'metadata']);
const NOT_META: ReadonlySet<string> = new Set(['resourceVersion', 'managedFields']);

/** Deep equality of two records but for the keys in `skip`. */
function sameExcept(a: Rec, b: Rec, skip: ReadonlySet<string>): boolean {
  let count = 0;
  for (const k of Object.keys(a)) {
    if (skip.has(k)) continue;
    if (!Object.hasOwn(b, k) || !sameJson(a[k], b[k])) return false;
    count++;
  }
  for (const k of Object.keys(b)) if (!skip.has(k)) count--;
  return count === 0;
}

/**
 * Deep equality of two values parsed from JSON (objects from the API: plain records, arrays,
 * strings, numbers, booleans, null), without isDeepStrictEqual's generality (prototypes, cycles,
 * Maps), which made it no cheaper than the two JSON strings it replaced.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Rec;
  const rb = b as Rec;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  for (const k of keys) if (!Object.hasOwn(rb, k) || !sameJson(ra[k], rb[k])) return false;
  return true;
}

const routeNameKey = (x: KubeObject): string => `${x.kind}|${namespaceOf(x)}|${x.metadata.name}`;

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

function sameLive(a: Attached<MeshParentResult>[], b: Attached<MeshParentResult>[]): boolean {
  return a.length === b.length && a.every((x, i) => x.route === b[i]!.route && x.parent === b[i]!.parent);
}

function sameCond(a: CondState | null | undefined, b: CondState | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.status === b.status && a.reason === b.reason && a.message === b.message;
}

function sameOutcomes(a: ParentOutcome[], b: ParentOutcome[]): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i]!;
    return x.parentRef === y.parentRef && x.controllerName === y.controllerName && sameCond(x.accepted, y.accepted)
      && sameCond(x.resolvedRefs, y.resolvedRefs) && sameCond(x.partiallyInvalid, y.partiallyInvalid);
  });
}

/** The snapshot fields Lookup indexes: unchanged, the last Lookup serves again. */
const LOOKUP_FIELDS = ['services', 'endpointSlices', 'pods', 'namespaces', 'referenceGrants'] as const;

function depsHold(deps: RouteDeps, lookup: Lookup): boolean {
  for (const [key, svc] of deps.services) if (lookup.services.get(key) !== svc) return false;
  for (const [ns, grants] of deps.grants) if (!sameItems(lookup.grantsInto(ns), grants)) return false;
  return true;
}

/** A lookup and catalog that note what a route's build read and registered. */
function recording(lookup: Lookup, catalog: BackendCatalog, deps: RouteDeps): { lookup: Lookup; catalog: BackendCatalog } {
  const l = Object.create(lookup) as Lookup;
  l.service = (namespace, name) => {
    const svc = lookup.service(namespace, name);
    // Kept as long as the unit: the one interned key, not a fresh concatenation per route.
    deps.services.set(intern(nsName(namespace, name)), svc);
    return svc;
  };
  l.grantsInto = (namespace) => {
    const grants = lookup.grantsInto(namespace);
    deps.grants.set(namespace, grants);
    return grants;
  };
  // Route builds read only the two above; anything else would be an unrecorded input.
  l.namespaceLabels = () => {
    throw new Error('incremental translation: a route unit read namespace labels, which it does not record');
  };
  const c = Object.create(catalog) as BackendCatalog;
  c.register = (svc, port) => {
    const name = catalog.register(svc, port);
    deps.registered.push([svc, port, name]);
    return name;
  };
  return { lookup: l, catalog: c };
}

export class IncrementalTranslator {
  #units = new Map<KubeObject, KeptUnit>();
  /**
   * `kind|namespace|name` → the route object last translated under it, kept across rounds and
   * updated only for the objects that were new in a round: finding last round's unit of a
   * replaced route costs one lookup, not a map of every route built on the first change.
   */
  #byName = new Map<string, KubeObject>();
  #frontends = new Map<string, KeptFrontend>();
  #backends = new Map<string, KeptBackend>();
  /** Versions tables serialising only new entries; the runner's endpoint patches share it. */
  readonly versioner = new TableVersioner();
  #statuses = new Map<KubeObject, KeptStatus>();
  /** Last round's order of each sorted list (stable-order.ts): sorted again only when an item moved. */
  readonly #orders: Record<SortSeam, StableOrder<unknown>> = { statuses: new StableOrder(), frontends: new StableOrder(), backends: new StableOrder() };
  #lookup: { snapshot: Snapshot; lookup: Lookup } | undefined;
  #pods: KubeObject[] = [];
  #trustDomain: string | undefined;
  #stats: IncrementalStats = { routesBuilt: 0, routesReused: 0, frontendsBuilt: 0, frontendsReused: 0, backendsBuilt: 0, backendsReused: 0, statusesBuilt: 0, statusesReused: 0 };

  /** What the last translate() computed afresh and what it reused. */
  get stats(): IncrementalStats {
    return { ...this.#stats };
  }

  /**
   * The indexes of the last translation: its Services, Pods, Namespaces and grants (EndpointSlices
   * as they were then). The endpoint fast path reuses them while only endpoints change.
   */
  get lookup(): Lookup | undefined {
    return this.#lookup?.lookup;
  }

  /** translate(snapshot), reusing every unit whose inputs did not change since the last call. */
  translate(snapshot: Snapshot): TranslateResult {
    const stats: IncrementalStats = { routesBuilt: 0, routesReused: 0, frontendsBuilt: 0, frontendsReused: 0, backendsBuilt: 0, backendsReused: 0, statusesBuilt: 0, statusesReused: 0 };
    const prevUnits = this.#units;
    const prevFrontends = this.#frontends;
    // Pods give endpoints their identity, and the trust domain spells it: either changing rebuilds every backend.
    const prevBackends = sameItems(this.#pods, snapshot.pods) && this.#trustDomain === snapshot.trustDomain ? this.#backends : new Map<string, KeptBackend>();
    const prevStatuses = this.#statuses;
    const statuses = new Map<KubeObject, KeptStatus>();
    const prevLookup = this.#lookup;
    let lookupReused = false;
    let lookupUsed: Lookup | undefined;
    const units = new Map<KubeObject, KeptUnit>();
    // Last round's route object of the same kind and name, for an object not found by identity:
    // a status-only update replaced it (sameButStatus). An entry of #byName that is not one of
    // last round's objects (its route was deleted) answers nothing.
    const fresh: [string, KubeObject][] = [];
    /** A new route object → last round's object of its name, for its status (found once, here). */
    const prevOf = new Map<KubeObject, KubeObject>();
    const byName = (o: KubeObject): [KubeObject, KeptUnit] | undefined => {
      const key = routeNameKey(o);
      fresh.push([key, o]);
      const p = this.#byName.get(key);
      if (p) prevOf.set(o, p);
      const u = p && prevUnits.get(p);
      return p && u ? [p, u] : undefined;
    };
    const frontends = new Map<string, KeptFrontend>();
    const backends = new Map<string, KeptBackend>();
    const memo: TranslationMemo = {
      lookup: (snap, build) => {
        if (prevLookup && prevLookup.snapshot.trustDomain === snap.trustDomain && LOOKUP_FIELDS.every((f) => sameItems(prevLookup.snapshot[f], snap[f]))) {
          lookupReused = true;
          lookupUsed = prevLookup.lookup;
        } else {
          lookupUsed = build();
        }
        return lookupUsed;
      },
      routeUnit: (obj, kind, lookup, catalog, build) => {
        let kept = prevUnits.get(obj);
        if (!kept) {
          const prev = byName(obj);
          if (prev && sameButStatus(prev[0], obj)) kept = prev[1];
        }
        // With the same Lookup, nothing a unit can read has changed.
        if (kept && kept.kind === kind && (lookupReused || depsHold(kept.deps, lookup))) {
          for (const [svc, port, name] of kept.deps.registered) catalog.register(svc, port, name);
          units.set(obj, kept);
          stats.routesReused++;
          return kept.unit;
        }
        const deps: RouteDeps = { services: new Map(), grants: new Map(), registered: [] };
        const r = recording(lookup, catalog, deps);
        const unit = build(r.lookup, r.catalog);
        units.set(obj, { kind, unit, deps });
        stats.routesBuilt++;
        return unit;
      },
      backend: (name, svc, port, lookup) => {
        const kept = prevBackends.get(name);
        // The same Lookup (and Pods) means the same slices: no need to look them up.
        const slices = lookupReused && kept ? kept.slices : lookup.slices.get(nsName(namespaceOf(svc), svc.metadata.name)) ?? [];
        if (kept && kept.svc === svc && sameItems(kept.slices, slices)) {
          backends.set(name, kept);
          stats.backendsReused++;
          return kept.ir;
        }
        const ir = makeBackend(name, svc, port, lookup);
        backends.set(name, { svc, slices, ir });
        stats.backendsBuilt++;
        return ir;
      },
      frontend: (svc, key, live, build) => {
        // Looked up with the Lookup's key (interned, kept with it), kept under the interned one:
        // interning every Service's key on every round was ~10 % of a one-route change at 10 000
        // routes, building it afresh most of what is left of this seam (issue 14).
        const kept = prevFrontends.get(key);
        if (kept && kept.svc === svc && sameLive(kept.live, live)) {
          frontends.set(kept.key, kept);
          stats.frontendsReused++;
          return kept.ir;
        }
        const ir = build();
        const interned = kept?.key ?? intern(key);
        frontends.set(interned, { key: interned, svc, live, ir });
        stats.frontendsBuilt++;
        return ir;
      },
      // Hashed when first read: in the controller nothing reads a translated table's version
      // (agents get slices, versioned on their own; the publisher tells tables apart by their
      // entries), and hashing every entry's JSON was the one part of a route change that grew
      // with the mesh (~25 ms at 10 000 routes, issue 14).
      withVersion: (table) => this.versioner.withLazyVersion(table),
      sorted: <T>(seam: SortSeam, items: T[], compare: (a: T, b: T) => number): T[] => (this.#orders[seam] as StableOrder<T>).sort(items, compare),
      routeStatus: (obj, outcomes, build) => {
        // A new object under the same name (our own status write coming back, or a spec change)
        // is compared on what routeStatus() reads of it, not taken as new (sameStatusInputs).
        let kept = prevStatuses.get(obj);
        if (!kept) {
          // routeUnit() ran first for every route and looked a new object's name up.
          const prev = prevOf.get(obj);
          kept = prev && prevStatuses.get(prev);
        }
        let status: StatusUpdate | null;
        if (kept !== undefined && sameOutcomes(kept.outcomes, outcomes) && sameStatusInputs(kept.obj, obj, outcomes.length)) {
          status = kept.status;
          stats.statusesReused++;
        } else {
          status = build();
          stats.statusesBuilt++;
        }
        statuses.set(obj, { obj, outcomes, status });
        return status;
      },
    };
    const result = translate(snapshot, memo);
    this.#units = units;
    for (const [key, o] of fresh) if (units.has(o)) this.#byName.set(key, o);
    // Deleted routes leave their names behind: rebuilt when they outnumber the live ones.
    if (this.#byName.size > 2 * units.size + 64) this.#byName = new Map([...units.keys()].map((o) => [routeNameKey(o), o]));
    this.#statuses = statuses;
    this.#lookup = lookupUsed && { snapshot, lookup: lookupUsed };
    this.#frontends = frontends;
    this.#backends = backends;
    this.#pods = snapshot.pods;
    this.#trustDomain = snapshot.trustDomain;
    this.#stats = stats;
    return result;
  }
}
