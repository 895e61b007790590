// Route status: one parents[] entry per parentRef we own (gateway or mesh controller), with
// Accepted and ResolvedRefs; entries written by other controllers are kept exactly as they were,
// so two implementations can share a route without fighting over its status.
import { GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { conditionsOf, makeCondition } from './conditions.ts';
import type { CondState } from './listeners.ts';
import type { KubeObject, StatusUpdate } from './snapshot.ts';
import { generationOf, int, namespaceOf, rec, recs, str, type Rec } from './util.ts';

export interface ParentOutcome {
  parentRef: Rec;
  controllerName: string;
  accepted: CondState;
  resolvedRefs: CondState;
  /** Set (status True) when invalid rules were dropped from an accepted route; else absent. */
  partiallyInvalid?: CondState | null;
}

const OURS = new Set([GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME]);

/** Identity of a parentRef with defaults applied, for matching previous status entries. */
export function parentRefKey(ref: Rec, routeNamespace: string): string {
  return JSON.stringify([
    str(ref.group) ?? 'gateway.networking.k8s.io', str(ref.kind) ?? 'Gateway', str(ref.namespace) ?? routeNamespace,
    str(ref.name) ?? '', str(ref.sectionName) ?? '', int(ref.port) ?? 0,
  ]);
}

export function routeStatus(obj: KubeObject, outcomes: ParentOutcome[]): StatusUpdate | null {
  const prevParents = recs(rec(obj.status).parents);
  const hadOurs = prevParents.some((p) => OURS.has(str(p.controllerName) ?? ''));
  if (outcomes.length === 0 && !hadOurs) return null;
  const ns = namespaceOf(obj);
  const gen = generationOf(obj);
  const others = prevParents.filter((p) => !OURS.has(str(p.controllerName) ?? ''));
  const ours = outcomes.map((o) => {
    const key = parentRefKey(o.parentRef, ns);
    const prev = prevParents.find((p) => str(p.controllerName) === o.controllerName && parentRefKey(rec(p.parentRef), ns) === key);
    const prevConds = conditionsOf(prev);
    return {
      parentRef: o.parentRef,
      controllerName: o.controllerName,
      conditions: [
        makeCondition('Accepted', o.accepted.status, o.accepted.reason, o.accepted.message, gen, prevConds),
        makeCondition('ResolvedRefs', o.resolvedRefs.status, o.resolvedRefs.reason, o.resolvedRefs.message, gen, prevConds),
        ...(o.partiallyInvalid ? [makeCondition('PartiallyInvalid', o.partiallyInvalid.status, o.partiallyInvalid.reason, o.partiallyInvalid.message, gen, prevConds)] : []),
      ],
    };
  });
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: ns, name: obj.metadata.name, status: { ...rec(obj.status), parents: [...others, ...ours] } };
}
