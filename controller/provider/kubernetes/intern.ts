// String interning for cached objects. JSON.parse gives every string value its own copy, so
// 10 000 cached routes carry 10 000 copies of "gateway.networking.k8s.io/v1", of their
// namespace, of each status condition's type, reason, message and timestamp. A property key is
// always internalized by V8 (one copy per distinct string, in its string table), so using a
// short string as a key and reading the key back yields the shared copy. V8's string table is
// weak: a string no cached object uses any more is collected, so unlike a Map of our own this
// never grows with churn (pods, endpoints and timestamps come and go). Interning is
// value-preserving: nothing that reads the object can tell, only the heap shrinks. The
// interning itself is common/intern.ts (translation's long-lived keys use it too); this file
// walks a cached object's tree with it.

import { intern, MAX_INTERNED_LENGTH } from '../../../common/intern.ts';

export { intern, MAX_INTERNED_LENGTH };

/** Cached objects are JSON trees a few levels deep; anything deeper is left as it is. */
const MAX_DEPTH = 24;

/** Replaces, in place, every short string value in a JSON tree by its interned copy. */
export function internStrings<T>(value: T, depth = 0): T {
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'string') value[i] = intern(v);
      else if (typeof v === 'object' && v !== null) internStrings(v, depth + 1);
    }
    return value;
  }
  const rec = value as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    const v = rec[k];
    if (typeof v === 'string') rec[k] = intern(v);
    else if (typeof v === 'object' && v !== null) internStrings(v, depth + 1);
  }
  return value;
}
