// Istio's standard label set for one request or tunnel, seen from this proxy. Every value comes
// from configuration (rule, backend) or the mesh identity, never from the request line, so the
// number of series stays bounded by the routing table, not by traffic.
import type { RequestEvent, SiteKind, TunnelEvent } from '../events.ts';
import { namespaceOfSpiffeId, type Workload } from '../workload.ts';
import { calleeWorkload, callerWorkload, PEER_WORKLOAD_HEADER, workloadFromPreamble } from '../peer-workload.ts';

export const REQUEST_LABELS = [
  'reporter', 'source_workload', 'source_namespace', 'source_principal',
  'destination_workload', 'destination_namespace', 'destination_service', 'destination_principal',
  'request_protocol', 'response_code', 'grpc_response_status', 'connection_security_policy', 'route',
] as const;
export const TCP_LABELS = [
  'reporter', 'source_workload', 'source_namespace', 'source_principal', 'destination_workload', 'destination_namespace',
  'destination_service', 'destination_principal', 'connection_security_policy',
] as const;

export type Labels = Record<string, string>;
const UNKNOWN = 'unknown';

export function reporterOf(site: SiteKind): 'source' | 'destination' | 'ingress' {
  return site === 'inbound' ? 'destination' : site === 'outbound' ? 'source' : 'ingress';
}

/** A backend name (`service/<ns>/<name>/<port>`) as the Service host Istio reports. */
export function serviceOf(backend: string | null): string {
  if (!backend) return UNKNOWN;
  const m = /^service\/([^/]+)\/([^/]+)\/\d+$/.exec(backend);
  return m ? `${m[2]}.${m[1]}.svc.cluster.local` : backend;
}

function isGrpc(headers: RequestEvent['headers']): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

/** Peer on the other end of this hop: the caller when inbound, the callee otherwise. */
function peer(ev: { peerIdentity?: string | null; upstreamIdentity?: string | null }, site: SiteKind): string {
  return (site === 'inbound' ? ev.peerIdentity : ev.upstreamIdentity) ?? '';
}

export function requestLabels(ev: RequestEvent, self: Workload): Labels {
  const inbound = ev.site === 'inbound';
  const other = peer(ev, ev.site);
  const otherNs = namespaceOfSpiffeId(other) || UNKNOWN;
  return {
    reporter: reporterOf(ev.site),
    source_workload: inbound ? callerWorkload(ev) ?? UNKNOWN : self.name,
    source_namespace: inbound ? otherNs : self.namespace,
    source_principal: inbound ? other || UNKNOWN : self.principal || UNKNOWN,
    destination_workload: inbound ? self.name : calleeWorkload(ev.upstreamPod ?? null) ?? UNKNOWN,
    destination_namespace: inbound ? self.namespace : otherNs,
    destination_service: inbound ? (ev.backend ? serviceOf(ev.backend) : `${self.name}.${self.namespace}.svc.cluster.local`) : serviceOf(ev.backend),
    destination_principal: inbound ? self.principal || UNKNOWN : other || UNKNOWN,
    request_protocol: isGrpc(ev.headers) ? 'grpc' : 'http',
    response_code: String(ev.status),
    grpc_response_status: ev.grpcStatus ?? '',
    connection_security_policy: other ? 'mutual_tls' : 'none',
    route: ev.rule ?? '',
  };
}

/**
 * Everything requestLabels reads from an event, as one string: equal keys give equal labels, so
 * the metrics subscriber derives a label set once per route, backend, peer and code, not once
 * per request (no regexes, no 13-key object, no 13-part series key on the hot path). A field
 * requestLabels starts reading must be added here (metrics.test.ts checks the two agree).
 */
export function requestLabelsKey(ev: RequestEvent): string {
  const inbound = ev.site === 'inbound';
  const w = inbound ? (ev.peerIdentity ? ev.headers[PEER_WORKLOAD_HEADER] : undefined) : ev.upstreamPod;
  return `${ev.site}\u0000${ev.rule ?? ''}\u0000${ev.backend ?? ''}\u0000${peer(ev, ev.site)}\u0000${typeof w === 'string' ? w : ''}`
    + `\u0000${isGrpc(ev.headers) ? 'g' : ''}\u0000${ev.status}\u0000${ev.grpcStatus ?? ''}`;
}

/**
 * A tunnel's peer namespace and principal come from the mesh identity. Its workload: the
 * caller's when its proxy named it in the TCP preamble over mTLS (peer-workload.ts; a WebSocket
 * or an older peer names none: `unknown`), the callee's from the endpoint's pod.
 */
export function tunnelLabels(ev: TunnelEvent, self: Workload): Labels {
  const inbound = ev.site === 'inbound';
  const other = peer(ev, ev.site);
  const otherNs = namespaceOfSpiffeId(other) || UNKNOWN;
  return {
    reporter: reporterOf(ev.site),
    source_workload: inbound ? (ev.peerIdentity && ev.peerWorkload ? workloadFromPreamble(ev.peerWorkload) ?? UNKNOWN : UNKNOWN) : self.name,
    source_namespace: inbound ? otherNs : self.namespace,
    source_principal: inbound ? other || UNKNOWN : self.principal || UNKNOWN,
    destination_workload: inbound ? self.name : calleeWorkload(ev.upstreamPod ?? null) ?? UNKNOWN,
    destination_namespace: inbound ? self.namespace : otherNs,
    destination_service: inbound ? `${self.name}.${self.namespace}.svc.cluster.local` : UNKNOWN,
    destination_principal: inbound ? self.principal || UNKNOWN : other || UNKNOWN,
    connection_security_policy: other ? 'mutual_tls' : 'none',
  };
}
