// ReferenceGrant (v1 and v1beta1 alike): whether an object of kind `from` in one namespace may
// reference an object of kind `to` in another. References within a namespace never need one.
import type { KubeObject } from './snapshot.ts';
import { namespaceOf, recs, specOf, str } from './util.ts';

export interface RefFrom {
  group: string;
  kind: string;
  namespace: string;
}

export interface RefTo {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

export function isReferenceAllowed(grants: KubeObject[], from: RefFrom, to: RefTo): boolean {
  if (from.namespace === to.namespace) return true;
  return grants.some((g) => {
    if (namespaceOf(g) !== to.namespace) return false;
    const spec = specOf(g);
    const fromOk = recs(spec.from).some((f) =>
      (str(f.group) ?? '') === from.group && str(f.kind) === from.kind && str(f.namespace) === from.namespace);
    if (!fromOk) return false;
    return recs(spec.to).some((t) => {
      const name = str(t.name);
      return (str(t.group) ?? '') === to.group && str(t.kind) === to.kind && (name === undefined || name === '' || name === to.name);
    });
  });
}
