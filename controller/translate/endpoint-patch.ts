// The endpoint fast path (the EDS idea): when the only objects that changed since the last
// translation are EndpointSlices and Pods, nothing about routes, listeners, attachment or route
// statuses can have changed: those read Services, Namespaces, Gateways, routes and grants, never
// endpoints. Only two parts of the result read endpoints: each backend's endpoint list and the
// AuthorizationPolicies' resolved endpoints. So the previous result is patched: the backends of
// the Services whose slices changed get fresh endpoints (all backends when Pods changed, since a
// Pod gives endpoints their identity), policies are re-resolved, and the version recomputed.
// Unchanged backends keep their object, so slices built from them stay shared. The result is
// byte-for-byte what translate() would return (endpoint-patch.test.ts checks it over random edits).
// What a patch costs grows with what changed, not with the mesh (issue 14): an EndpointPatcher
// keeps the last full translation's indexes (Services, Pods) and looks up only the changed
// Services' slices; the version is hashed from the JSON of unchanged entries kept since they were
// first serialised, and hashed only if something reads it (table-version.ts withLazyVersion:
// nothing in the controller does, so a patch no longer hashes the whole table); statuses are
// handed back as they were unless
// AuthorizationPolicies exist (their resolved endpoints read slices and Pods). A Pod counts as
// changed only when what endpoints read of it changed (its meshed label, service account,
// existence): a Pod becoming ready rewrites the Pod but leaves every endpoint's identity alone.
import type { BackendIR, RoutingTable } from '../../api/routing-table.ts';
import { MESHED_POD_LABEL } from '../../api/pod-annotations.ts';
import { withVersion } from '../../api/version.ts';
import { endpointsFor, servicePorts } from './endpoints.ts';
import { Lookup } from './lookup.ts';
import { translatePolicies } from './policies.ts';
import type { KubeObject, Snapshot, TranslateResult } from './snapshot.ts';
import { compareStatuses } from './status-order.ts';
import { SlicePositions, sliceOwner } from './slice-positions.ts';
import { contentOf, type TableVersioner } from './table-version.ts';
import { nameOf, namespaceOf, nsName, specOf, str } from './util.ts';

type Field = keyof Snapshot;
const ENDPOINT_FIELDS = new Set<Field>(['endpointSlices', 'pods']);

/**
 * Kinds meshlet writes status to. Their status is read only to carry over condition times and
 * other controllers' entries, which the status writer re-merges from the object it writes to;
 * a status-only update of these (mostly our own write coming back) is not a change here, as the
 * informer already does not re-translate for one (resource-informer.ts, STATUS_WRITTEN_KINDS).
 */
const STATUS_WRITTEN_FIELDS = new Set<Field>(['gatewayClasses', 'gateways', 'httpRoutes', 'grpcRoutes', 'meshes']);

function withoutStatus(o: KubeObject): string {
  const { status: _s, metadata, ...rest } = o as KubeObject & { status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata as KubeObject['metadata'] & { managedFields?: unknown };
  return JSON.stringify([meta, rest]);
}

function sameList(a: unknown, b: unknown, statusOnlyIsSame = false): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((x, i) => x === b[i] || (statusOnlyIsSame && withoutStatus(x as KubeObject) === withoutStatus(b[i] as KubeObject)));
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** What endpointsFor() reads of a Pod (see endpoints.ts): meshed or not, and its service account. */
function podView(p: KubeObject): string {
  return `${p.metadata.labels?.[MESHED_POD_LABEL] !== undefined}|${str(specOf(p).serviceAccountName) ?? ''}`;
}

function podIndex(pods: KubeObject[]): Map<string, KubeObject> {
  const out = new Map<string, KubeObject>();
  for (const p of pods) {
    const name = nameOf(p);
    if (name) out.set(nsName(namespaceOf(p), name), p); // the last, as Lookup keeps
  }
  return out;
}

/** Whether endpoints could read anything different of the Pods (ready flags and IPs they do not read). */
function podsDiffer(prev: KubeObject[], next: KubeObject[]): boolean {
  if (sameList(prev, next)) return false;
  const before = podIndex(prev);
  const after = podIndex(next);
  if (before.size !== after.size) return true;
  for (const [key, p] of after) {
    const q = before.get(key);
    if (!q || (q !== p && podView(q) !== podView(p))) return true;
  }
  return false;
}

/** The Services whose slices differ between two lists (a superset when the order shifted). */
function changedOwners(prev: KubeObject[], next: KubeObject[]): Set<string> {
  const services = new Set<string>();
  if (prev.length === next.length) {
    // The informer keeps its objects in a stable order: one walk finds the rewritten slices.
    for (let i = 0; i < next.length; i++) {
      if (prev[i] === next[i]) continue;
      services.add(sliceOwner(prev[i]!) ?? '');
      services.add(sliceOwner(next[i]!) ?? '');
    }
  } else {
    const before = new Set(prev);
    const after = new Set(next);
    for (const es of prev) if (!after.has(es)) services.add(sliceOwner(es) ?? '');
    for (const es of next) if (!before.has(es)) services.add(sliceOwner(es) ?? '');
  }
  services.delete('');
  return services;
}

export interface EndpointChange {
  /** Services (`ns/name`) whose EndpointSlices changed. */
  services: Set<string>;
  /** Some Pod changed in what endpoints read of it: every backend is recomputed. */
  pods: boolean;
}

/**
 * What changed between two snapshots, if only endpoints did: the Service keys (`ns/name`) whose
 * slices changed and whether any Pod did (as endpoints see it); null when anything else changed.
 * Objects are compared by identity, so the provider must hand out the same object while it is
 * unchanged.
 */
export function endpointOnlyChange(prev: Snapshot, next: Snapshot): EndpointChange | null {
  const fields = new Set([...Object.keys(prev), ...Object.keys(next)] as Field[]);
  for (const f of fields) {
    if (ENDPOINT_FIELDS.has(f)) continue;
    const a = prev[f];
    const b = next[f];
    if (Array.isArray(a) || Array.isArray(b) ? !sameList(a, b, STATUS_WRITTEN_FIELDS.has(f)) : !sameValue(a, b)) return null;
  }
  const pods = podsDiffer(prev.pods, next.pods);
  const services = sameList(prev.endpointSlices, next.endpointSlices) ? new Set<string>() : changedOwners(prev.endpointSlices, next.endpointSlices);
  return { services, pods };
}

/**
 * Whether two snapshots hold the very same objects apart from EndpointSlices and Pods (a status
 * write coming back does not count as the same here): whoever keeps the older one, such as the
 * status writer, sees nothing different in it.
 */
export function sameExceptEndpoints(prev: Snapshot, next: Snapshot): boolean {
  const fields = new Set([...Object.keys(prev), ...Object.keys(next)] as Field[]);
  for (const f of fields) {
    if (ENDPOINT_FIELDS.has(f)) continue;
    const a = prev[f];
    const b = next[f];
    if (Array.isArray(a) || Array.isArray(b) ? !sameList(a, b) : !sameValue(a, b)) return false;
  }
  return true;
}

function sameEndpoints(a: BackendIR['endpoints'], b: BackendIR['endpoints']): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

/** `base` with the EndpointSlices of `services` as they are in `snapshot` (endpointsFor reads no others). */
function sliceLookup(base: Lookup, snapshot: Snapshot, services: Set<string>, positions: SlicePositions): Lookup {
  const slices = new Map<string, KubeObject[]>();
  for (const key of services) {
    const list = positions.slicesOf(snapshot.endpointSlices, key);
    if (list.length > 0) slices.set(key, list);
  }
  const l = Object.create(base) as Lookup;
  Object.defineProperty(l, 'slices', { value: slices });
  return l;
}

/**
 * Patches translation results for endpoint-only changes, keeping what it can between calls:
 * the indexes of the last full translation (rebase()) and, with a versioner, the JSON of every
 * table entry. patch() returns exactly what patchEndpoints() does.
 */
export class EndpointPatcher {
  #base: Lookup | undefined;
  readonly #versioner: TableVersioner | undefined;
  /** Each Service's slices, followed across snapshots (only changed slices are looked at). */
  readonly #slices = new SlicePositions();
  /** The positions of each Service's backends in a table's backends (patches keep positions). */
  #backendIndex: { backends: BackendIR[]; byService: Map<string, number[]> } | undefined;

  constructor(versioner?: TableVersioner) {
    this.#versioner = versioner;
  }

  /** The indexes of a full translation of the snapshot patches will follow from. */
  rebase(lookup: Lookup | undefined): void {
    this.#base = lookup;
  }

  #backendsByService(backends: BackendIR[]): Map<string, number[]> {
    if (this.#backendIndex?.backends === backends) return this.#backendIndex.byService;
    const byService = new Map<string, number[]>();
    backends.forEach((b, i) => {
      const key = nsName(b.namespace, b.serviceName);
      const at = byService.get(key);
      if (at) at.push(i);
      else byService.set(key, [i]);
    });
    return byService;
  }

  /** The previous result with endpoints and policies recomputed from `snapshot` (see above). */
  patch(prev: TranslateResult, snapshot: Snapshot, change: EndpointChange): TranslateResult {
    const policiesInPlay = snapshot.authorizationPolicies.length > 0 || prev.ir.policies.length > 0;
    let lookup: Lookup;
    if (change.pods || policiesInPlay || !this.#base) {
      // Policies select Pods by label and resolve Services' slices: they need every index fresh.
      lookup = new Lookup(snapshot);
      this.#base = lookup;
    } else {
      lookup = sliceLookup(this.#base, snapshot, change.services, this.#slices);
    }
    let changed = false;
    const recompute = (b: BackendIR): BackendIR => {
      const svc = lookup.service(b.namespace, b.serviceName);
      const port = svc ? servicePorts(svc).find((p) => p.port === b.port) : undefined;
      const endpoints = svc && port ? endpointsFor(lookup, svc, port) : [];
      if (sameEndpoints(endpoints, b.endpoints)) return b;
      changed = true;
      return { ...b, endpoints };
    };
    let backends: BackendIR[];
    if (change.pods) {
      backends = prev.ir.backends.map(recompute);
    } else {
      // Only the changed Services' backends, found by position: the others are not looked at.
      backends = prev.ir.backends;
      const byService = this.#backendsByService(prev.ir.backends);
      for (const key of change.services) {
        for (const i of byService.get(key) ?? []) {
          const b = backends[i]!;
          const next = recompute(b);
          if (next === b) continue;
          if (backends === prev.ir.backends) backends = backends.slice();
          backends[i] = next;
        }
      }
      this.#backendIndex = { backends, byService };
    }
    let statuses = prev.statuses;
    let policiesChanged = false;
    let policies = prev.ir.policies;
    if (policiesInPlay) {
      const resolved = translatePolicies(snapshot.authorizationPolicies, lookup);
      policiesChanged = JSON.stringify(resolved.ir) !== JSON.stringify(prev.ir.policies);
      if (policiesChanged) policies = resolved.ir;
      statuses = [...prev.statuses.filter((s) => s.kind !== 'AuthorizationPolicy'), ...resolved.statuses].sort(compareStatuses);
    }
    if (!changed && !policiesChanged) return { statuses, ir: prev.ir };
    // contentOf: the previous table's version may be lazy and unread; copying it would hash it.
    const next = { ...contentOf(prev.ir), backends, policies };
    const ir: RoutingTable = this.#versioner ? this.#versioner.withLazyVersion(next) : withVersion(next);
    return { statuses, ir };
  }
}

/** The previous result with endpoints and policies recomputed from `snapshot` (see above). */
export function patchEndpoints(prev: TranslateResult, snapshot: Snapshot, change: EndpointChange): TranslateResult {
  return new EndpointPatcher().patch(prev, snapshot, change);
}
