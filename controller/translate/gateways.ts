// Gateways of meshlet's classes: evaluation (class, addresses, listeners) and, once routes are
// attached, their status. Gateways of other classes, or of classes that do not exist, are not
// ours and get nothing. Programmed needs an address: the environment's (snapshot
// .gatewayAddresses, e.g. the ingress LoadBalancer IPs) or else spec.addresses of type IPAddress.
import type { ClassInfo } from './gateway-class.ts';
import { conditionsOf, makeCondition } from './conditions.ts';
import { evaluateListeners, type CondState, type ListenerState } from './listeners.ts';
import type { Lookup } from './lookup.ts';
import type { KubeObject, Snapshot, StatusUpdate } from './snapshot.ts';
import { generationOf, nameOf, namespaceOf, nsName, rec, recs, specOf, str } from './util.ts';

export interface GatewayState {
  obj: KubeObject;
  namespace: string;
  name: string;
  className: string;
  accepted: CondState;
  addresses: string[];
  listeners: ListenerState[];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]+$/;

export function isIpAddress(v: string): boolean {
  return IPV4.test(v) || (v.includes(':') && IPV6.test(v));
}

function specAddresses(gw: KubeObject): { addresses: string[]; problem: string | null } {
  const addresses: string[] = [];
  for (const a of recs(specOf(gw).addresses)) {
    const type = str(a.type) ?? 'IPAddress';
    const value = str(a.value) ?? '';
    if (type !== 'IPAddress') return { addresses, problem: `address type ${JSON.stringify(type)} is not supported (IPAddress only)` };
    if (value === '') continue; // GatewayAddressEmpty: "assign me one"
    if (!isIpAddress(value)) return { addresses, problem: `${JSON.stringify(value)} is not an IP address` };
    addresses.push(value);
  }
  return { addresses, problem: null };
}

export function evaluateGateways(snapshot: Snapshot, classes: Map<string, ClassInfo>, lookup: Lookup): GatewayState[] {
  const out: GatewayState[] = [];
  for (const gw of snapshot.gateways) {
    const name = nameOf(gw);
    const className = str(specOf(gw).gatewayClassName) ?? '';
    const cls = classes.get(className);
    if (!name || !cls) continue;
    const namespace = namespaceOf(gw);
    const listeners = evaluateListeners(gw, namespace, snapshot.secrets, lookup);
    const fromEnv = (snapshot.gatewayAddresses[nsName(namespace, name)] ?? []).filter((a) => typeof a === 'string' && a !== '');
    const spec = specAddresses(gw);
    let accepted: CondState;
    const acceptedListeners = listeners.filter((l) => l.accepted).length;
    if (!cls.accepted) accepted = { status: false, reason: 'Invalid', message: `GatewayClass ${className} is not accepted` };
    else if (spec.problem) accepted = { status: false, reason: 'UnsupportedAddress', message: spec.problem };
    else if (acceptedListeners === 0) accepted = { status: false, reason: 'ListenersNotValid', message: 'no listener is valid' };
    else if (acceptedListeners < listeners.length) accepted = { status: true, reason: 'ListenersNotValid', message: `${listeners.length - acceptedListeners} of ${listeners.length} listeners are not valid` };
    else accepted = { status: true, reason: 'Accepted', message: 'Gateway is accepted' };
    if (!accepted.status) {
      for (const l of listeners) {
        l.programmed = false;
        l.conditions.Programmed = { status: false, reason: 'Invalid', message: accepted.message };
      }
    }
    out.push({
      obj: gw, namespace, name, className, accepted, listeners,
      addresses: [...new Set(fromEnv.length > 0 ? fromEnv : spec.addresses)].sort(),
    });
  }
  return out.sort((a, b) => (nsName(a.namespace, a.name) < nsName(b.namespace, b.name) ? -1 : 1));
}

export function gatewayStatus(g: GatewayState, attached: Map<string, number>): StatusUpdate {
  const gen = generationOf(g.obj);
  const prev = rec(g.obj.status);
  const programmed: CondState = !g.accepted.status
    ? { status: false, reason: 'Invalid', message: g.accepted.message }
    : g.addresses.length === 0
      ? { status: false, reason: 'AddressNotAssigned', message: 'no address has been assigned to the Gateway yet' }
      : { status: true, reason: 'Programmed', message: 'Gateway is programmed' };
  const prevListeners = recs(prev.listeners);
  const listeners = g.listeners.map((l) => {
    const prevConds = conditionsOf(prevListeners.find((p) => p.name === l.name));
    const c = (type: keyof ListenerState['conditions']) => {
      const s = l.conditions[type];
      return makeCondition(type, s.status, s.reason, s.message, gen, prevConds);
    };
    return {
      name: l.name,
      supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
      attachedRoutes: attached.get(l.name) ?? 0,
      conditions: [c('Accepted'), c('Programmed'), c('ResolvedRefs'), c('Conflicted')],
    };
  });
  return {
    apiVersion: g.obj.apiVersion,
    kind: 'Gateway',
    namespace: g.namespace,
    name: g.name,
    status: {
      addresses: g.addresses.map((value) => ({ type: isIpAddress(value) ? 'IPAddress' : 'Hostname', value })),
      conditions: [
        makeCondition('Accepted', g.accepted.status, g.accepted.reason, g.accepted.message, gen, prev.conditions),
        makeCondition('Programmed', programmed.status, programmed.reason, programmed.message, gen, prev.conditions),
      ],
      listeners,
    },
  };
}
