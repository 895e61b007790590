// Route status: one parents[] entry per parentRef we own (gateway or mesh controller), with
// Accepted and ResolvedRefs; entries written by other controllers are kept exactly as they were,
// so two implementations can share a route without fighting over its status. Our conditions
// always carry the placeholder time: the status writer keeps the stored lastTransitionTime of a
// condition whose status did not change (controller/status carryTimes), as it does for
// Propagated. Reading our own written times back here made every route's status a new value
// after each status write came back through the watch, so the first change after a status pass
// rebuilt and compared every route's status (issue 14: ~1 s at 10 000 routes); now a route's
// status depends on its object's status only through other controllers' entries.
import { isDeepStrictEqual } from 'node:util';
import { GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { makeCondition } from './conditions.ts';
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

const isOurs = (p: Rec): boolean => OURS.has(str(p.controllerName) ?? '');

function statusRest(status: Rec): Rec {
  const { parents: _parents, ...rest } = status;
  return rest;
}

/**
 * Whether routeStatus() answers alike for `a` and `b` given the same outcomes: the same identity
 * and generation, other controllers' entries and other status fields, and (with no outcomes)
 * whether ours were there. Our own entries are not read otherwise (their times are the
 * writer's), so a status we wrote coming back through the watch leaves a route's status as it was.
 */
export function sameStatusInputs(a: KubeObject, b: KubeObject, outcomes: number): boolean {
  if (a === b) return true;
  if (a.apiVersion !== b.apiVersion || a.kind !== b.kind || a.metadata.name !== b.metadata.name
    || namespaceOf(a) !== namespaceOf(b) || generationOf(a) !== generationOf(b)) return false;
  const sa = rec(a.status);
  const sb = rec(b.status);
  const pa = recs(sa.parents);
  const pb = recs(sb.parents);
  if (outcomes === 0 && pa.some(isOurs) !== pb.some(isOurs)) return false;
  // The usual case, our entries alone and no other field, without building anything to compare.
  const onlyOurs = (s: Rec, ps: Rec[]): boolean => ps.every(isOurs) && Object.keys(s).every((k) => k === 'parents');
  if (onlyOurs(sa, pa) && onlyOurs(sb, pb)) return true;
  return isDeepStrictEqual(pa.filter((p) => !isOurs(p)), pb.filter((p) => !isOurs(p)))
    && isDeepStrictEqual(statusRest(sa), statusRest(sb));
}

export function routeStatus(obj: KubeObject, outcomes: ParentOutcome[]): StatusUpdate | null {
  const prevParents = recs(rec(obj.status).parents);
  const hadOurs = prevParents.some(isOurs);
  if (outcomes.length === 0 && !hadOurs) return null;
  const ns = namespaceOf(obj);
  const gen = generationOf(obj);
  const others = prevParents.filter((p) => !isOurs(p));
  const ours = outcomes.map((o) => ({
    parentRef: o.parentRef,
    controllerName: o.controllerName,
    conditions: [
      makeCondition('Accepted', o.accepted.status, o.accepted.reason, o.accepted.message, gen, undefined),
      makeCondition('ResolvedRefs', o.resolvedRefs.status, o.resolvedRefs.reason, o.resolvedRefs.message, gen, undefined),
      ...(o.partiallyInvalid ? [makeCondition('PartiallyInvalid', o.partiallyInvalid.status, o.partiallyInvalid.reason, o.partiallyInvalid.message, gen, undefined)] : []),
    ],
  }));
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: ns, name: obj.metadata.name, status: { ...rec(obj.status), parents: [...others, ...ours] } };
}
