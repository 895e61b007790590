// The order of translate()'s statuses (by kind, then namespace and name), shared with the
// endpoint fast path so a patched result is ordered exactly like a full translation's.
import type { StatusUpdate } from './snapshot.ts';
import { compareStrings } from './util.ts';

const KIND_ORDER: Record<string, number> = { GatewayClass: 0, Gateway: 1, HTTPRoute: 2, GRPCRoute: 3, XMesh: 4, AuthorizationPolicy: 5 };

export function compareStatuses(a: StatusUpdate, b: StatusUpdate): number {
  return (KIND_ORDER[a.kind] ?? 9) - (KIND_ORDER[b.kind] ?? 9)
    || compareStrings(a.namespace ?? '', b.namespace ?? '') || compareStrings(a.name, b.name);
}
