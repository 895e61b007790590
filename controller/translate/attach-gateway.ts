// Route → Gateway attachment. A parentRef names a Gateway (optionally one listener by
// sectionName and/or port); the route attaches to each selected listener that is accepted,
// allows the route's namespace and kind, and shares at least one hostname with it. The
// intersected hostnames become the route's virtual hosts on that listener. Failures use the
// spec's reasons: NoMatchingParent (no such listener/port), NotAllowedByListeners,
// NoMatchingListenerHostname. A parentRef to a Gateway that is not ours gets no entry.
import { GATEWAY_API_GROUP } from '../../api/names.ts';
import type { GatewayState } from './gateways.ts';
import { intersectHostnames } from './hostnames.ts';
import type { CondState, ListenerState } from './listeners.ts';
import type { Lookup } from './lookup.ts';
import type { CompiledRoute } from './rules.ts';
import { selectorMatches } from './selectors.ts';
import { int, nsName, rec, str, type Rec } from './util.ts';

export interface ListenerAttachment {
  gateway: GatewayState;
  listener: ListenerState;
  hostnames: string[];
}

export interface GatewayParentResult {
  parentRef: Rec;
  gateway: GatewayState;
  /** Attachment outcome before the route's own validity is considered. */
  attach: CondState;
  attachments: ListenerAttachment[];
}

export function isGatewayParentRef(ref: Rec): boolean {
  return (str(ref.group) ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP && (str(ref.kind) ?? 'Gateway') === 'Gateway';
}

function namespaceAllowed(l: ListenerState, gatewayNs: string, routeNs: string, lookup: Lookup): boolean {
  const ns = rec(l.allowedRoutes.namespaces);
  const from = str(ns.from) ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return routeNs === gatewayNs;
  if (from === 'Selector') return selectorMatches(ns.selector, lookup.namespaceLabels(routeNs));
  return false;
}

export function attachToGateway(route: CompiledRoute, ref: Rec, gateways: Map<string, GatewayState>, lookup: Lookup): GatewayParentResult | null {
  const gw = gateways.get(nsName(str(ref.namespace) ?? route.meta.namespace, str(ref.name) ?? ''));
  if (!gw) return null;
  const result: GatewayParentResult = { parentRef: ref, gateway: gw, attach: { status: true, reason: 'Accepted', message: 'Route is accepted' }, attachments: [] };
  const fail = (reason: string, message: string) => {
    result.attach = { status: false, reason, message };
    return result;
  };
  const section = str(ref.sectionName);
  const port = int(ref.port);
  let selected = gw.listeners;
  if (section !== undefined) selected = selected.filter((l) => l.name === section);
  if (port !== undefined) selected = selected.filter((l) => l.port === port);
  if (selected.length === 0) {
    const what = [section !== undefined ? `sectionName ${section}` : '', port !== undefined ? `port ${port}` : ''].filter(Boolean).join(' and ');
    return fail('NoMatchingParent', `Gateway ${gw.namespace}/${gw.name} has no listener with ${what || 'any name'}`);
  }
  if (!gw.accepted.status) return fail('NotAllowedByListeners', `Gateway ${gw.namespace}/${gw.name} is not accepted: ${gw.accepted.message}`);
  const allowed = selected.filter((l) => l.accepted
    && l.supportedKinds.some((k) => k.kind === route.meta.kind)
    && namespaceAllowed(l, gw.namespace, route.meta.namespace, lookup));
  if (allowed.length === 0) {
    return fail('NotAllowedByListeners', `no selected listener of Gateway ${gw.namespace}/${gw.name} allows ${route.meta.kind}s from namespace ${route.meta.namespace}`);
  }
  for (const listener of allowed) {
    const hostnames = intersectHostnames(listener.hostname, route.hostnames);
    if (hostnames.length > 0) result.attachments.push({ gateway: gw, listener, hostnames });
  }
  if (result.attachments.length === 0) {
    return fail('NoMatchingListenerHostname', `no hostname of the route intersects the hostnames of the selected listeners of Gateway ${gw.namespace}/${gw.name}`);
  }
  return result;
}
