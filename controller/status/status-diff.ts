// Pure helpers deciding what a status write looks like: whether the desired status differs from
// the stored one (a placeholder lastTransitionTime from translate matches any time: translate has
// no clock), the placeholder replaced by the write time, and for routes the merge of our parent
// entries into a freshly read status without disturbing other controllers' entries.
import { GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { parentRefKey, PLACEHOLDER_TIME } from '../translate/index.ts';

const OURS = new Set([GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME]);

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality where a desired `lastTransitionTime` placeholder equals whatever is stored. */
export function sameStatus(desired: Json, current: Json): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(current) && desired.length === current.length && desired.every((d, i) => sameStatus(d, current[i]));
  }
  if (isObj(desired)) {
    if (!isObj(current)) return false;
    const keys = new Set([...Object.keys(desired), ...Object.keys(current)]);
    for (const k of keys) {
      if (k === 'lastTransitionTime' && desired[k] === PLACEHOLDER_TIME && typeof current[k] === 'string') continue;
      if (!sameStatus(desired[k], current[k])) return false;
    }
    return true;
  }
  return desired === current;
}

/** A copy of the status with every placeholder time replaced by `now` (RFC 3339, seconds). */
export function stampTimes(status: Json, now: Date): Json {
  const time = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const walk = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(walk);
    if (!isObj(v)) return v;
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) out[k] = k === 'lastTransitionTime' && x === PLACEHOLDER_TIME ? time : walk(x);
    return out;
  };
  return walk(status);
}

/**
 * `desired` with each placeholder lastTransitionTime of our parent entries' conditions replaced
 * by the stored time of the same condition on the same entry (same controller and parentRef)
 * when its status did not change: translation leaves route condition times to the writer, so a
 * write keeps the time of every condition that did not transition. Other entries are as given.
 */
export function carryTimes(desired: Record<string, Json>, stored: Json, routeNamespace: string): Record<string, Json> {
  if (!Array.isArray(desired.parents) || !isObj(stored) || !Array.isArray(stored.parents)) return desired;
  const storedParents = stored.parents.filter(isOurParentEntry) as Record<string, Json>[];
  if (storedParents.length === 0) return desired;
  const parents = (desired.parents as Json[]).map((p) => {
    if (!isOurParentEntry(p) || !Array.isArray((p as Record<string, Json>).conditions)) return p;
    const entry = p as Record<string, Json>;
    // Compared with defaults applied: the API server fills in a stored parentRef's group and kind.
    const key = parentRefKey(isObj(entry.parentRef) ? entry.parentRef : {}, routeNamespace);
    const prev = storedParents.find((s) => s.controllerName === entry.controllerName && parentRefKey(isObj(s.parentRef) ? s.parentRef : {}, routeNamespace) === key);
    const prevConds = prev && Array.isArray(prev.conditions) ? prev.conditions.filter(isObj) : [];
    if (prevConds.length === 0) return p;
    const conditions = (entry.conditions as Json[]).map((c) => {
      if (!isObj(c) || c.lastTransitionTime !== PLACEHOLDER_TIME) return c;
      const was = prevConds.find((x) => x.type === c.type);
      return was && was.status === c.status && typeof was.lastTransitionTime === 'string' ? { ...c, lastTransitionTime: was.lastTransitionTime } : c;
    });
    return { ...entry, conditions };
  });
  return { ...desired, parents };
}

export function isOurParentEntry(entry: Json): boolean {
  return isObj(entry) && typeof entry.controllerName === 'string' && OURS.has(entry.controllerName);
}

/**
 * Route status to write over `fresh` (the object as just read): other controllers' parent
 * entries from `fresh`, ours from `desired` (translate's, which may be none: a route that
 * stopped targeting us loses our entries).
 */
export function mergeRouteStatus(desired: Record<string, Json>, fresh: Json): Record<string, Json> {
  const freshParents: Json[] = isObj(fresh) && Array.isArray(fresh.parents) ? fresh.parents as Json[] : [];
  const ours = (Array.isArray(desired.parents) ? desired.parents as Json[] : []).filter(isOurParentEntry);
  return { ...(isObj(fresh) ? fresh : {}), ...desired, parents: [...freshParents.filter((p) => !isOurParentEntry(p)), ...ours] };
}
