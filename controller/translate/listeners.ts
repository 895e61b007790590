// Gateway listeners: which are usable and why not, in the spec's terms. Only HTTP and HTTPS
// are served (UnsupportedProtocol otherwise); listeners sharing a port must agree on protocol
// (ProtocolConflict) and differ in hostname (HostnameConflict), and conflicted listeners are all
// rejected, as the conformance suite expects; allowedRoutes.kinds may only name the route kinds
// we serve (InvalidRouteKinds); HTTPS needs resolvable certificates.
import { GATEWAY_API_GROUP } from '../../api/names.ts';
import type { SecretIR } from '../../api/routing-table.ts';
import { resolveCertificateRef } from './certificates.ts';
import { isValidHostname } from './hostnames.ts';
import type { Lookup } from './lookup.ts';
import { selectorProblem } from './selectors.ts';
import type { KubeObject } from './snapshot.ts';
import { int, rec, recs, str, type Rec } from './util.ts';

export const SERVED_KINDS = ['HTTPRoute', 'GRPCRoute'] as const;

export interface CondState {
  status: boolean;
  reason: string;
  message: string;
}

export interface ListenerState {
  name: string;
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  hostname: string | null;
  allowedRoutes: Rec;
  supportedKinds: { group: string; kind: string }[];
  /** Routes may attach (Accepted=True). */
  accepted: boolean;
  /** Goes into the routing table. */
  programmed: boolean;
  certificates: SecretIR[];
  conditions: { Accepted: CondState; ResolvedRefs: CondState; Programmed: CondState; Conflicted: CondState };
}

const ok = (reason: string, message: string): CondState => ({ status: true, reason, message });
const bad = (reason: string, message: string): CondState => ({ status: false, reason, message });

function supportedKinds(allowed: Rec, protocolOk: boolean): { kinds: ListenerState['supportedKinds']; invalid: string[] } {
  if (!protocolOk) return { kinds: [], invalid: [] };
  const requested = recs(allowed.kinds);
  if (!Array.isArray(allowed.kinds) || requested.length === 0) return { kinds: SERVED_KINDS.map((kind) => ({ group: GATEWAY_API_GROUP, kind })), invalid: [] };
  const kinds: ListenerState['supportedKinds'] = [];
  const invalid: string[] = [];
  for (const k of requested) {
    const group = str(k.group) ?? GATEWAY_API_GROUP;
    const kind = str(k.kind) ?? '';
    if (group === GATEWAY_API_GROUP && (SERVED_KINDS as readonly string[]).includes(kind)) {
      if (!kinds.some((x) => x.kind === kind)) kinds.push({ group, kind });
    } else invalid.push(`${group}/${kind}`);
  }
  return { kinds, invalid };
}

export function evaluateListeners(gateway: KubeObject, gatewayNamespace: string, secrets: KubeObject[], lookup: Lookup): ListenerState[] {
  const states: ListenerState[] = [];
  const seenNames = new Set<string>();
  // Gateway-level client certificate validation (GEP-91, spec.tls.frontend): meshlet cannot
  // enforce it, so its HTTPS listeners are refused rather than served without it (fail closed).
  const frontend = rec(rec(gateway.spec).tls).frontend;
  const frontendAsked = frontend !== undefined && frontend !== null;
  recs(rec(gateway.spec).listeners).forEach((l, i) => {
    const name = str(l.name);
    if (!name || seenNames.has(name)) return; // unreportable: status is keyed by a unique name
    seenNames.add(name);
    const protocol = str(l.protocol) ?? '';
    const port = int(l.port) ?? 0;
    const rawHost = l.hostname === undefined || l.hostname === null ? null : str(l.hostname)?.toLowerCase() ?? '';
    const allowedRoutes = rec(l.allowedRoutes);
    const protocolOk = protocol === 'HTTP' || protocol === 'HTTPS';
    const { kinds, invalid } = supportedKinds(allowedRoutes, protocolOk);
    let accepted: CondState = ok('Accepted', 'Listener is accepted');
    if (!protocolOk) accepted = bad('UnsupportedProtocol', `protocol ${JSON.stringify(protocol)} is not supported (HTTP, HTTPS)`);
    else if (port < 1 || port > 65535) accepted = bad('PortUnavailable', `port ${String(l.port)} is not within 1..65535`);
    else if (rawHost !== null && (rawHost === '' || !isValidHostname(rawHost))) accepted = bad('UnsupportedValue', `hostname ${JSON.stringify(l.hostname)} is not a valid hostname`);
    else {
      const problem = allowedRoutesProblem(allowedRoutes);
      if (problem) accepted = bad('UnsupportedValue', problem);
    }
    let resolved: CondState = ok('ResolvedRefs', 'All references are resolved');
    const certificates: SecretIR[] = [];
    if (invalid.length > 0) resolved = bad('InvalidRouteKinds', `unsupported route kinds in allowedRoutes.kinds: ${invalid.join(', ')}`);
    if (protocol === 'HTTPS' && accepted.status) {
      const tls = rec(l.tls);
      const mode = str(tls.mode) ?? 'Terminate';
      const refs = recs(tls.certificateRefs);
      const options = rec(tls.options);
      if (mode !== 'Terminate') accepted = bad('UnsupportedValue', `tls.mode ${JSON.stringify(mode)} is not supported on an HTTPS listener`);
      else if (Object.keys(options).length > 0) accepted = bad('UnsupportedValue', `tls.options (${Object.keys(options).sort().join(', ')}) are not supported by meshlet`);
      else if (tls.frontendValidation !== undefined && tls.frontendValidation !== null) accepted = bad('UnsupportedValue', 'tls.frontendValidation (client certificate validation) is not supported by meshlet');
      else if (frontendAsked) accepted = bad('UnsupportedValue', 'spec.tls.frontend (client certificate validation) is not supported by meshlet: the listener is not served rather than served without it');
      else if (refs.length === 0) resolved = bad('InvalidCertificateRef', 'an HTTPS listener needs tls.certificateRefs');
      refs.forEach((ref, j) => {
        const res = resolveCertificateRef(ref, gatewayNamespace, secrets, lookup, `spec.listeners[${i}].tls.certificateRefs[${j}]`);
        if (res.ok) certificates.push(res.secret);
        else if (resolved.status || resolved.reason === 'InvalidRouteKinds') resolved = bad(res.reason, res.message);
      });
    }
    states.push({
      name, port, protocol: protocol === 'HTTPS' ? 'HTTPS' : 'HTTP', hostname: rawHost, allowedRoutes,
      supportedKinds: kinds, accepted: accepted.status, programmed: false, certificates,
      conditions: {
        Accepted: accepted,
        ResolvedRefs: resolved,
        Programmed: ok('Programmed', 'Listener is programmed'),
        Conflicted: bad('NoConflicts', 'No conflicts'),
      },
    });
  });
  markConflicts(states, recs(rec(gateway.spec).listeners));
  for (const s of states) {
    const certProblem = !s.conditions.ResolvedRefs.status && s.conditions.ResolvedRefs.reason !== 'InvalidRouteKinds';
    s.programmed = s.accepted && !certProblem && s.supportedKinds.length > 0;
    if (!s.programmed) {
      const why = !s.accepted ? s.conditions.Accepted.message : certProblem ? s.conditions.ResolvedRefs.message : 'no supported route kinds';
      s.conditions.Programmed = bad('Invalid', why);
    }
  }
  return states;
}

function allowedRoutesProblem(allowed: Rec): string | null {
  const ns = rec(allowed.namespaces);
  const from = ns.from === undefined || ns.from === null ? 'Same' : ns.from;
  if (from === 'Same' || from === 'All') return null;
  if (from === 'Selector') return selectorProblem(ns.selector);
  return `allowedRoutes.namespaces.from ${JSON.stringify(from)} is not supported (Same, All, Selector)`;
}

/** Rejects every listener involved in a port's protocol or hostname conflict. */
function markConflicts(states: ListenerState[], raw: Rec[]): void {
  const byPort = new Map<number, ListenerState[]>();
  for (const s of states) {
    if (!s.accepted) continue;
    const list = byPort.get(s.port) ?? [];
    list.push(s);
    byPort.set(s.port, list);
  }
  const protoOf = (s: ListenerState) => str(raw.find((r) => r.name === s.name)?.protocol) ?? s.protocol;
  for (const [port, group] of byPort) {
    const protocols = new Set(group.map(protoOf));
    if (protocols.size > 1) {
      for (const s of group) conflict(s, 'ProtocolConflict', `listeners on port ${port} use different protocols (${[...protocols].sort().join(', ')})`);
      continue;
    }
    const byHost = new Map<string, ListenerState[]>();
    for (const s of group) {
      const key = s.hostname ?? '';
      byHost.set(key, [...(byHost.get(key) ?? []), s]);
    }
    for (const [host, same] of byHost) {
      if (same.length < 2) continue;
      for (const s of same) conflict(s, 'HostnameConflict', `listeners ${same.map((x) => x.name).join(', ')} on port ${port} share hostname ${host === '' ? '(none)' : host}`);
    }
  }
}

function conflict(s: ListenerState, reason: string, message: string): void {
  s.accepted = false;
  s.conditions.Conflicted = ok(reason, message);
  s.conditions.Accepted = bad('Invalid', message);
}
