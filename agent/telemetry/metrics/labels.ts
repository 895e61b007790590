// Istio's standard label set for one request or tunnel, seen from this proxy. Every value comes
// from configuration (rule, backend) or the mesh identity, never from the request line, so the
// number of series stays bounded by the routing table, not by traffic.
import type { RequestEvent, SiteKind, TunnelEvent } from '../events.ts';
import { namespaceOfSpiffeId, type Workload } from '../workload.ts';
import { calleeWorkload, callerWorkload, workloadFromPreamble } from '../peer-workload.ts';

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
 * Everything requestLabels reads from an event, field by field (normalised as the key has them):
 * equal inputs give equal labels, so the metrics subscriber derives a label set once per route,
 * backend, peer and code, not once per request. A field requestLabels starts reading must be
 * added here (metrics.test.ts and request-series.test.ts check that they agree).
 */
export interface RequestLabelInputs {
  site: SiteKind;
  rule: string;
  backend: string;
  peer: string;
  /** The peer workload field requestLabels reads: the caller's header (inbound over mTLS) or the endpoint's pod. */
  workload: string;
  grpc: boolean;
  status: number;
  grpcStatus: string;
}

function workloadField(ev: RequestEvent): string {
  const w = ev.site === 'inbound' ? (ev.peerIdentity ? ev.peerWorkloadHeader : undefined) : ev.upstreamPod;
  return typeof w === 'string' ? w : '';
}

export function requestLabelInputs(ev: RequestEvent): RequestLabelInputs {
  return {
    site: ev.site, rule: ev.rule ?? '', backend: ev.backend ?? '', peer: peer(ev, ev.site), workload: workloadField(ev),
    grpc: isGrpc(ev.headers), status: ev.status, grpcStatus: ev.grpcStatus ?? '',
  };
}

/**
 * Whether this event has these inputs, without building anything: the strings compared come
 * from the routing table and the identity, the same objects request after request, so each
 * test is mostly a pointer comparison (a key string per request cost its concatenation, a
 * flattening and a hash of ~100 characters, and garbage).
 */
export function hasRequestLabelInputs(ev: RequestEvent, k: RequestLabelInputs): boolean {
  return ev.status === k.status && ev.site === k.site && (ev.rule ?? '') === k.rule && (ev.backend ?? '') === k.backend
    && peer(ev, ev.site) === k.peer && (ev.grpcStatus ?? '') === k.grpcStatus && workloadField(ev) === k.workload
    && isGrpc(ev.headers) === k.grpc;
}

/** The inputs as one string, for the subscriber's map of every label set seen (past its few recent ones). */
export function requestLabelsKey(ev: RequestEvent): string {
  return inputsKey(requestLabelInputs(ev));
}

export function inputsKey(k: RequestLabelInputs): string {
  return `${k.site}\u0000${k.rule}\u0000${k.backend}\u0000${k.peer}\u0000${k.workload}\u0000${k.grpc ? 'g' : ''}\u0000${k.status}\u0000${k.grpcStatus}`;
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
