// HTTPRoute vs GRPCRoute on the same parent: only one kind may serve it.
// - Gateway listeners (GRPCRoute spec): when routes of the two kinds share a listener and their
//   hostnames intersect, the older route wins (then namespace/name alphabetically).
// - Mesh Service ports (GEP-1426 "Route types"): GRPCRoute wins over HTTPRoute on the same
//   Service and port, compared among routes that apply to the same callers (the producer set, or
//   one consumer namespace).
// The loser's parent entry gets Accepted=False with reason "Conflicted": GEP-1426 names it
// RouteReasonConflicted, and route reasons drop the "RouteReason" prefix in their value, as
// RouteReasonAccepted = "Accepted" does. The whole parentRef is rejected, not just the contested
// port or hostname, so its status says plainly that the route is not applied there.
import type { GatewayParentResult } from './attach-gateway.ts';
import type { MeshParentResult } from './attach-mesh.ts';
import { hostsOverlap } from './hostnames.ts';
import type { CondState } from './listeners.ts';
import { compareRouteAge } from './precedence.ts';
import type { CompiledRoute } from './rules.ts';

export const CONFLICTED = 'Conflicted';

export interface Attached<P> {
  route: CompiledRoute;
  parent: P;
  conflict: CondState | null;
}

export function isLive<P extends { attach: CondState }>(a: Attached<P>): boolean {
  return a.parent.attach.status && a.route.invalid === null && a.conflict === null;
}

export function resolveGatewayConflicts(entries: Attached<GatewayParentResult>[]): void {
  const winners: Attached<GatewayParentResult>[] = [];
  const live = entries.filter(isLive).sort((a, b) => compareRouteAge(a.route.meta, b.route.meta) || (a.route.meta.kind < b.route.meta.kind ? -1 : 1));
  for (const e of live) {
    const rival = winners.find((w) => w.route.meta.kind !== e.route.meta.kind && w.parent.attachments.some((wa) =>
      e.parent.attachments.some((ea) => ea.listener === wa.listener && ea.gateway === wa.gateway
        && ea.hostnames.some((h) => wa.hostnames.some((x) => hostsOverlap(h, x))))));
    if (rival) {
      const r = rival.route.meta;
      e.conflict = { status: false, reason: CONFLICTED, message: `${r.kind} ${r.namespace}/${r.name} is older and serves the same listener hostnames; a listener hostname serves one route kind` };
    } else {
      winners.push(e);
    }
  }
}

export function resolveMeshConflicts(entries: Attached<MeshParentResult>[]): void {
  const live = entries.filter(isLive);
  const grpcPorts = new Set<string>();
  const key = (a: Attached<MeshParentResult>, port: number) => `${a.parent.serviceKey}|${port}|${a.parent.consumerNamespace ?? ''}`;
  for (const a of live) if (a.route.meta.kind === 'GRPCRoute') for (const p of a.parent.ports) grpcPorts.add(key(a, p.port));
  // No GRPCRoute, no conflict: no key per HTTPRoute port (10 000 strings a round at 10 000 routes).
  if (grpcPorts.size === 0) return;
  for (const a of live) {
    if (a.route.meta.kind !== 'HTTPRoute') continue;
    const lost = a.parent.ports.filter((p) => grpcPorts.has(key(a, p.port)));
    if (lost.length > 0) {
      a.conflict = { status: false, reason: CONFLICTED, message: `a GRPCRoute is attached to Service ${a.parent.serviceKey} port ${lost.map((p) => p.port).join(', ')}; GRPCRoute takes precedence over HTTPRoute (GEP-1426)` };
    }
  }
}
