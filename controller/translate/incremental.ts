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
import { intern } from '../../common/intern.ts';
import { makeBackend } from './backends.ts';
import { sameStatusInputs } from './route-status.ts';
import { translate } from './index.ts';
import type { Lookup } from './lookup.ts';
import type { SortSeam, TranslationMemo } from './memo.ts';
import { RoutePatch } from './route-patch.ts';
import { StableOrder } from './stable-order.ts';
import type { KubeObject, Snapshot, StatusUpdate, TranslateResult } from './snapshot.ts';
import { TableVersioner } from './table-version.ts';
import { recording, routeNameKey, sameButStatus, sameItems, sameLive, sameOutcomes, type KeptBackend, type KeptFrontend, type KeptStatus, type KeptUnit, type RouteDeps } from './unit-reuse.ts';
import { namespaceOf, nsName } from './util.ts';

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

/** The snapshot fields Lookup indexes: unchanged, the last Lookup serves again. */
const LOOKUP_FIELDS = ['services', 'endpointSlices', 'pods', 'namespaces', 'referenceGrants'] as const;

function depsHold(deps: RouteDeps, lookup: Lookup): boolean {
  for (const [key, svc] of deps.services) if (lookup.services.get(key) !== svc) return false;
  for (const [ns, grants] of deps.grants) if (!sameItems(lookup.grantsInto(ns), grants)) return false;
  return true;
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
  /** Route changes answered by patching the last result (route-patch.ts). */
  readonly #patch = new RoutePatch();
  #patches = 0;
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

  /** Translations answered by patching the last result: routes replaced in place, on Services only (route-patch.ts). */
  get patches(): number {
    return this.#patches;
  }

  /** translate(snapshot), reusing every unit whose inputs did not change since the last call. */
  translate(snapshot: Snapshot): TranslateResult {
    // Routes replaced in place and nothing else: patch what they touch, not a walk of every route.
    if (this.#lookup) {
      const p = { routesBuilt: 0, routesReused: 0, frontendsBuilt: 0, frontendsReused: 0, backendsBuilt: 0, statusesBuilt: 0, statusesReused: 0 };
      const patched = this.#patch.patch(snapshot, {
        units: this.#units, byName: this.#byName, statuses: this.#statuses, frontends: this.#frontends, backends: this.#backends, lookup: this.#lookup.lookup, versioner: this.versioner,
      }, p);
      if (patched) {
        this.#patches++;
        this.#lookup = { snapshot, lookup: this.#lookup.lookup };
        this.#stats = { ...p, backendsReused: 0 };
        return patched;
      }
    }
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
      translated: (work, result) => this.#patch.kept(snapshot, work, result),
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
