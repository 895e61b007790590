// meshlet's own route condition, `meshlet.dev/Propagated`: how many connected proxies run the
// latest version of a route ("12/12 proxies at generation 7"). The counts come from the
// distribution layer through the status writer's `propagation` hook; this file only shapes them
// into a condition on each of our parent entries.
import { PLACEHOLDER_TIME } from '../translate/index.ts';
import { isOurParentEntry } from './status-diff.ts';

export const PROPAGATED_CONDITION = 'meshlet.dev/Propagated';

export interface RouteRef {
  kind: string;
  namespace: string;
  name: string;
  generation: number;
}

export interface PropagationCount {
  upToDate: number;
  total: number;
  generation: number;
}

/** Provided by distribution: null when it has nothing to say about the route (yet). */
export type PropagationHook = (route: RouteRef) => PropagationCount | null;

type Rec = Record<string, unknown>;

function conditionsOf(entry: Rec): Rec[] {
  return Array.isArray(entry.conditions) ? entry.conditions as Rec[] : [];
}

/**
 * Adds (or replaces) the Propagated condition on our parent entries. The time carries over from
 * the stored entry when the condition's status did not change, like translate's conditions.
 */
export function withPropagation(status: Rec, count: PropagationCount, routeGeneration: number, stored: unknown): Rec {
  const ok = count.upToDate >= count.total;
  const storedParents = typeof stored === 'object' && stored !== null && Array.isArray((stored as Rec).parents) ? (stored as Rec).parents as Rec[] : [];
  const parents = (Array.isArray(status.parents) ? status.parents as Rec[] : []).map((p) => {
    if (!isOurParentEntry(p)) return p;
    const prev = storedParents.find((s) => s.controllerName === p.controllerName && JSON.stringify(s.parentRef) === JSON.stringify(p.parentRef));
    const prevCond = prev && conditionsOf(prev).find((c) => c.type === PROPAGATED_CONDITION);
    const statusStr = ok ? 'True' : 'False';
    const cond = {
      type: PROPAGATED_CONDITION,
      status: statusStr,
      reason: ok ? 'Propagated' : 'Propagating',
      message: `${count.upToDate}/${count.total} proxies at generation ${count.generation}`,
      observedGeneration: routeGeneration,
      lastTransitionTime: prevCond && prevCond.status === statusStr && typeof prevCond.lastTransitionTime === 'string' ? prevCond.lastTransitionTime : PLACEHOLDER_TIME,
    };
    return { ...p, conditions: [...conditionsOf(p).filter((c) => c.type !== PROPAGATED_CONDITION), cond] };
  });
  return { ...status, parents };
}
