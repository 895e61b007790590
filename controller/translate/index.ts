// controller/translate: the Gateway API semantics of meshlet, as one pure function from a
// snapshot of Kubernetes objects to the routing table agents execute plus the status of every
// object meshlet owns. No I/O, no clock, no randomness: the same snapshot always yields the same
// table (and version) and the same statuses, on every controller replica. Attachment,
// allowedRoutes, hostname intersection, precedence, GAMMA producer/consumer scoping,
// ReferenceGrants, backend resolution and every condition reason are decided here.
import { GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { attachToGateway, isGatewayParentRef, type GatewayParentResult } from './attach-gateway.ts';
import { attachToService, isMeshParentRef, type MeshParentResult } from './attach-mesh.ts';
import { BackendCatalog } from './backends.ts';
import { buildTable } from './build-table.ts';
import { translatePolicies } from './policies.ts';
import { resolveGatewayConflicts, resolveMeshConflicts, type Attached } from './conflicts.ts';
import { translateGatewayClasses } from './gateway-class.ts';
import { evaluateGateways, gatewayStatus } from './gateways.ts';
import type { CondState } from './listeners.ts';
import { Lookup } from './lookup.ts';
import { parentRefKey, routeStatus, type ParentOutcome } from './route-status.ts';
import { compileRoute, type CompiledRoute, type RouteKind } from './rules.ts';
import type { KubeObject, Snapshot, StatusUpdate, TranslateResult } from './snapshot.ts';
import { translateMeshes } from './xmesh.ts';
import type { RouteUnit, TranslationMemo } from './memo.ts';
import { compareStatuses } from './status-order.ts';
import { nameOf, namespaceOf, nsName, recs, specOf } from './util.ts';

export { SUPPORTED_FEATURES } from './features.ts';
export { PLACEHOLDER_TIME } from './conditions.ts';
export { parentRefKey } from './route-status.ts';

export type Parent =
  | { type: 'gateway'; entry: Attached<GatewayParentResult> }
  | { type: 'mesh'; entry: Attached<MeshParentResult> };

/** A route's attachments in a round: what its status is computed from (route-patch.ts keeps them). */
export interface RouteWork {
  obj: KubeObject;
  parents: Parent[];
}

function outcome(route: CompiledRoute, attach: CondState, conflict: CondState | null): Pick<ParentOutcome, 'accepted' | 'resolvedRefs' | 'partiallyInvalid'> {
  const accepted = !attach.status ? attach
    : route.invalid ? { status: false, reason: route.invalid.reason, message: route.invalid.message }
      : conflict ?? attach;
  const resolvedRefs = route.unresolved
    ? { status: false, reason: route.unresolved.reason, message: route.unresolved.message }
    : { status: true, reason: 'ResolvedRefs', message: 'All references are resolved' };
  const partiallyInvalid = accepted.status && route.partiallyInvalid
    ? { status: true, reason: route.partiallyInvalid.reason, message: route.partiallyInvalid.message }
    : null;
  return { accepted, resolvedRefs, partiallyInvalid };
}

export { EndpointPatcher, patchEndpoints, endpointOnlyChange, sameExceptEndpoints, type EndpointChange } from './endpoint-patch.ts';
export { TableVersioner } from './table-version.ts';
export { IncrementalTranslator, type IncrementalStats } from './incremental.ts';

/** A route's parent outcomes, in the order of its parents, once conflicts are resolved. */
export function routeOutcomes(w: RouteWork): ParentOutcome[] {
  return w.parents.map((p) => ({
    parentRef: p.entry.parent.parentRef,
    controllerName: p.type === 'gateway' ? GATEWAY_CONTROLLER_NAME : MESH_CONTROLLER_NAME,
    ...outcome(p.entry.route, p.entry.parent.attach, p.entry.conflict),
  }));
}

/** A route's parents in order, compiled once per mode (see memo.ts: incremental.ts may reuse it). */
export function routeUnit(obj: KubeObject, kind: RouteKind, lookup: Lookup, catalog: BackendCatalog): RouteUnit {
  const ns = namespaceOf(obj);
  const seen = new Set<string>();
  const refs = recs(specOf(obj).parentRefs).filter((r) => {
    const k = parentRefKey(r, ns);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  let gwRoute: CompiledRoute | null = null;
  let meshRoute: CompiledRoute | null = null;
  const unit: RouteUnit = { parents: [] };
  for (const ref of refs) {
    if (isMeshParentRef(ref)) {
      meshRoute ??= compileRoute(obj, kind, { lookup, catalog, mode: 'mesh' });
      unit.parents.push({ type: 'mesh', route: meshRoute, parent: attachToService(meshRoute, ref, lookup) });
    } else if (isGatewayParentRef(ref)) {
      gwRoute ??= compileRoute(obj, kind, { lookup, catalog, mode: 'gateway' });
      unit.parents.push({ type: 'gateway', route: gwRoute, ref });
    }
  }
  return unit;
}

/**
 * Translates a snapshot. `memo` (incremental.ts) lets unchanged parts be reused from the last
 * round; the result is the same with or without it.
 */
export function translate(snapshot: Snapshot, memo?: TranslationMemo): TranslateResult {
  const lookup = memo ? memo.lookup(snapshot, () => new Lookup(snapshot)) : new Lookup(snapshot);
  const catalog = new BackendCatalog(lookup, memo?.backend);
  const classes = translateGatewayClasses(snapshot.gatewayClasses, snapshot.gatewayApiBundleVersion);
  const gateways = evaluateGateways(snapshot, classes.owned, lookup);
  const gatewayMap = new Map(gateways.map((g) => [nsName(g.namespace, g.name), g]));

  const work: RouteWork[] = [];
  const gatewayAttached: Attached<GatewayParentResult>[] = [];
  const meshAttached: Attached<MeshParentResult>[] = [];
  const routes: [KubeObject, RouteKind][] = [
    ...snapshot.httpRoutes.map((o): [KubeObject, RouteKind] => [o, 'HTTPRoute']),
    ...snapshot.grpcRoutes.map((o): [KubeObject, RouteKind] => [o, 'GRPCRoute']),
  ];
  for (const [obj, kind] of routes) {
    if (!nameOf(obj)) continue; // nothing to report a status on
    const unit = memo ? memo.routeUnit(obj, kind, lookup, catalog, (l, c) => routeUnit(obj, kind, l, c)) : routeUnit(obj, kind, lookup, catalog);
    const item: RouteWork = { obj, parents: [] };
    for (const p of unit.parents) {
      if (p.type === 'mesh') {
        const entry = { route: p.route, parent: p.parent, conflict: null };
        meshAttached.push(entry);
        item.parents.push({ type: 'mesh', entry });
      } else {
        const parent = attachToGateway(p.route, p.ref, gatewayMap, lookup);
        if (!parent) continue; // not one of our Gateways
        const entry = { route: p.route, parent, conflict: null };
        gatewayAttached.push(entry);
        item.parents.push({ type: 'gateway', entry });
      }
    }
    work.push(item);
  }
  resolveGatewayConflicts(gatewayAttached);
  resolveMeshConflicts(meshAttached);

  const statuses: StatusUpdate[] = [...classes.statuses];
  for (const g of gateways) {
    const attached = new Map<string, number>();
    for (const l of g.listeners) {
      const routesHere = new Set<CompiledRoute>();
      for (const a of gatewayAttached) {
        if (a.parent.attach.status && a.parent.attachments.some((x) => x.listener === l)) routesHere.add(a.route);
      }
      attached.set(l.name, routesHere.size);
    }
    statuses.push(gatewayStatus(g, attached));
  }
  for (const w of work) {
    const outcomes = routeOutcomes(w);
    const s = memo ? memo.routeStatus(w.obj, outcomes, () => routeStatus(w.obj, outcomes)) : routeStatus(w.obj, outcomes);
    if (s) statuses.push(s);
  }
  statuses.push(...translateMeshes(snapshot.meshes));
  const policies = translatePolicies(snapshot.authorizationPolicies ?? [], lookup);
  statuses.push(...policies.statuses);
  // Sorted, so the result does not depend on the order the provider listed objects in.
  const sorted = memo ? memo.sorted('statuses', statuses, compareStatuses) : statuses.sort(compareStatuses);

  const result = { statuses: sorted, ir: buildTable(lookup, catalog, gateways, gatewayAttached, meshAttached, policies.ir, memo) };
  memo?.translated?.(work, result);
  return result;
}
