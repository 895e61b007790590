// What incremental translation keeps of a round (incremental.ts) and a route patch updates
// (route-patch.ts), and the comparisons that decide whether a kept part still holds.
import { intern } from '../../common/intern.ts';
import type { BackendIR, ServiceFrontendIR } from '../../api/routing-table.ts';
import type { MeshParentResult } from './attach-mesh.ts';
import type { BackendCatalog } from './backends.ts';
import type { Attached } from './conflicts.ts';
import type { ServicePort } from './endpoints.ts';
import type { CondState } from './listeners.ts';
import type { Lookup } from './lookup.ts';
import type { RouteUnit } from './memo.ts';
import type { ParentOutcome } from './route-status.ts';
import type { RouteKind } from './rules.ts';
import type { KubeObject, StatusUpdate } from './snapshot.ts';
import { namespaceOf, nsName } from './util.ts';

export interface RouteDeps {
  services: Map<string, KubeObject | undefined>;
  grants: Map<string, KubeObject[]>;
  registered: [KubeObject, ServicePort, string][];
}

export interface KeptUnit {
  kind: RouteKind;
  unit: RouteUnit;
  deps: RouteDeps;
}

export interface KeptFrontend {
  /** Its `namespace/name`, interned once when it was built. */
  key: string;
  svc: KubeObject;
  live: Attached<MeshParentResult>[];
  ir: ServiceFrontendIR | null;
}

export interface KeptStatus {
  /** The route object it was built from. */
  obj: KubeObject;
  outcomes: ParentOutcome[];
  status: StatusUpdate | null;
}

export interface KeptBackend {
  svc: KubeObject;
  slices: KubeObject[];
  ir: BackendIR;
}

/**
 * A route object equal to `b` but for its status (and resourceVersion, managedFields): what our
 * own status write coming back makes. Status updates of routes make no snapshot, but the next
 * one holds the new objects; a unit is built from the spec and metadata alone (the route's
 * status is computed apart, from the new object), so it is handed back. Without this the first
 * change after a status pass over 10 000 routes rebuilt and re-serialised them all (issue 14:
 * a 3.1 s route change at 10 000 routes, ~14 s of CPU at load 26).
 */
export function sameButStatus(a: KubeObject, b: KubeObject): boolean {
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

export const routeNameKey = (x: KubeObject): string => `${x.kind}|${namespaceOf(x)}|${x.metadata.name}`;

export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

export function sameLive(a: Attached<MeshParentResult>[], b: Attached<MeshParentResult>[]): boolean {
  return a.length === b.length && a.every((x, i) => x.route === b[i]!.route && x.parent === b[i]!.parent);
}

function sameCond(a: CondState | null | undefined, b: CondState | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.status === b.status && a.reason === b.reason && a.message === b.message;
}

export function sameOutcomes(a: ParentOutcome[], b: ParentOutcome[]): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i]!;
    return x.parentRef === y.parentRef && x.controllerName === y.controllerName && sameCond(x.accepted, y.accepted)
      && sameCond(x.resolvedRefs, y.resolvedRefs) && sameCond(x.partiallyInvalid, y.partiallyInvalid);
  });
}

/** A lookup and catalog that note what a route's build read and registered. */
export function recording(lookup: Lookup, catalog: BackendCatalog, deps: RouteDeps): { lookup: Lookup; catalog: BackendCatalog } {
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

