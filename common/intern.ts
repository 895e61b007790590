// String interning: one shared, flat copy of a short string. JSON.parse gives every string value
// its own copy, and a key built as `${namespace}/${name}` is a fresh concatenation (a cons
// string holding its own copy of the `namespace/` prefix) every time it is built, so 10 000
// routes held by several indexes carry tens of thousands of copies. A property key is always
// internalized by V8 (one flat copy per distinct string, in its string table), so using a short
// string as a key and reading the key back yields the shared copy. V8's string table is weak: a
// string nothing uses any more is collected, so unlike a Map of our own this never grows with
// churn (pods, endpoints and timestamps come and go). Interning is value-preserving: nothing
// that reads the string can tell, only the heap shrinks. The controller's informer caches
// (provider/kubernetes/intern.ts) and translation's long-lived keys use it.

/** Longer strings are rarely repeated (certificates, JSON in annotations): not worth a lookup. */
export const MAX_INTERNED_LENGTH = 64;

export function intern(s: string): string {
  if (s.length > MAX_INTERNED_LENGTH) return s;
  const holder: Record<string, 0> = { [s]: 0 };
  for (const k in holder) return k; // integer-like strings ("80") come back as a fresh copy: still equal
  return s;
}
