// Pure helpers deciding what a status write looks like: whether the desired status differs from
// the stored one (a placeholder lastTransitionTime from translate matches any time: translate has
// no clock), the placeholder replaced by the write time, and for routes the merge of our parent
// entries into a freshly read status without disturbing other controllers' entries.
import { GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { PLACEHOLDER_TIME } from '../translate/index.ts';

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
