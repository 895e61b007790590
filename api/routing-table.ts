// The routing table: meshlet's own intermediate representation (IR). Translation produces it,
// agents and the ingress execute it; neither ever sees Gateway API objects. Everything here is
// plain JSON (no Maps, no classes, no undefined-vs-missing distinctions that JSON would lose) so
// the same value can be distributed over the wire and dumped at /config_dump.
//
// Ordering is part of the contract: every list is sorted as documented on its field, so two
// translations of the same input are byte-identical and `version` is a content hash.

export const ROUTING_TABLE_API_VERSION = 'meshlet.dev/routing/v1alpha1';

export interface RoutingTable {
  apiVersion: typeof ROUTING_TABLE_API_VERSION;
  /** Content hash of everything else (see version.ts); equal tables have equal versions. */
  version: string;
  /** North-south: Gateways of meshlet's class. Sorted by name. */
  gateways: GatewayIR[];
  /** East-west: Service frontends (ClusterIP:port). Sorted by name. */
  services: ServiceFrontendIR[];
  /** Everything a rule can send traffic to. Sorted by name. */
  backends: BackendIR[];
  /** TLS material referenced by HTTPS listeners. Sorted by name. */
  secrets: SecretIR[];
  /** Identity-based inbound authorization (AuthorizationPolicy, GEP-3779's shape). Sorted by name. */
  policies: PolicyIR[];
}

// ---------------------------------------------------------------------------------------------
// Inbound authorization

/**
 * One AuthorizationPolicy, resolved to the workload endpoints it governs. The destination
 * sidecar enforces it on the caller's verified SPIFFE ID: an endpoint that any policy governs
 * admits only requests some rule of some such policy allows (ALLOW semantics; no policy: the
 * default inbound policy decides).
 */
export interface PolicyIR {
  /** `authorizationpolicy/<namespace>/<name>` */
  name: string;
  namespace: string;
  /** Pod endpoints it applies to; port 0 means every port of that address. Sorted. */
  endpoints: PolicyEndpointIR[];
  /** OR'd; a rule matches when its principals match the caller AND its ports (if any) match. */
  rules: PolicyRuleIR[];
}

export interface PolicyEndpointIR {
  address: string;
  port: number;
  /** The pod, so the controller can send each sidecar only its own pod's policies. */
  namespace: string;
  podName: string | null;
}

export interface PolicyRuleIR {
  /** Exact SPIFFE IDs, or `spiffe://<td>/ns/<ns>/sa/*` for every service account of a namespace. */
  principals: string[];
  /** Destination ports the rule is limited to; empty: all. Sorted. */
  ports: number[];
}

/** Where a node came from: lets /config_dump, `meshlet explain` and logs point back at YAML. */
export interface SourceRef {
  kind: 'Gateway' | 'HTTPRoute' | 'GRPCRoute' | 'Service' | 'AuthorizationPolicy';
  namespace: string;
  name: string;
}

// ---------------------------------------------------------------------------------------------
// Gateways

export interface GatewayIR {
  /** `gateway/<namespace>/<name>` */
  name: string;
  source: SourceRef;
  className: string;
  /** Addresses the environment assigned (status.addresses). */
  addresses: string[];
  /** One entry per distinct listener port. Sorted by port. */
  ports: GatewayPortIR[];
}

export type ListenerProtocol = 'HTTP' | 'HTTPS';

export interface GatewayPortIR {
  port: number;
  protocol: ListenerProtocol;
  /**
   * The listeners sharing this port that are Programmed. Sorted most specific hostname first
   * (exact, then wildcards by descending length, then the hostname-less listener last), ties by
   * listener name. A request is handled by the first listener whose hostname matches its Host
   * (listener isolation): only routes attached to that listener can answer it.
   */
  listeners: ListenerIR[];
}

export interface ListenerIR {
  /** `gateway/<namespace>/<name>/listener/<listenerName>` */
  name: string;
  listenerName: string;
  /** Exact host, `*.suffix` wildcard, or null for "any host". Lower case. */
  hostname: string | null;
  /** HTTPS only: certificates to serve, by secret name (SecretIR.name), first is the default. */
  certificates: string[];
  virtualHosts: VirtualHostIR[];
}

// ---------------------------------------------------------------------------------------------
// Mesh (GAMMA)

export interface ServiceFrontendIR {
  /** `service/<namespace>/<name>` */
  name: string;
  source: SourceRef;
  namespace: string;
  serviceName: string;
  /** ClusterIPs (IPv4 and/or IPv6). Headless services have none and are never routed. */
  clusterIPs: string[];
  /** Sorted by port. */
  ports: ServicePortIR[];
}

export interface ServicePortIR {
  port: number;
  /** Service port name, or null when the Service has a single unnamed port. */
  portName: string | null;
  /** Kubernetes appProtocol, if set (http, kubernetes.io/h2c, kubernetes.io/ws, grpc, ...). */
  appProtocol: string | null;
  /** Backend used when no route is attached for the caller: the Service itself. */
  defaultBackend: string;
  /** Routes from the Service's own namespace: apply to callers in every namespace. */
  producer: RouteSetIR | null;
  /**
   * Routes from other namespaces: apply only to callers in that namespace, and replace the
   * producer routes for them. Sorted by namespace.
   */
  consumers: ConsumerRouteSetIR[];
}

export interface ConsumerRouteSetIR {
  namespace: string;
  routes: RouteSetIR;
}

export interface RouteSetIR {
  /** GRPCRoute wins over HTTPRoute on a Service port, so a set holds one kind only. */
  kind: 'HTTPRoute' | 'GRPCRoute';
  virtualHosts: VirtualHostIR[];
}

// ---------------------------------------------------------------------------------------------
// Routes

export interface VirtualHostIR {
  /**
   * Exact host, `*.suffix` wildcard, or `*` for any host. Lower case. Within a listener or
   * route set, sorted most specific first (exact, longer wildcard, `*` last); a request is
   * served by the most specific virtual host matching its Host, without falling back.
   */
  hostname: string;
  /** Sorted by Gateway API precedence: the first rule whose match succeeds wins. */
  rules: RouteRuleIR[];
}

export interface RuleSourceRef extends SourceRef {
  kind: 'HTTPRoute' | 'GRPCRoute';
  /** Index of the rule in spec.rules. */
  rule: number;
  /** Index of the match in the rule's matches (0 when the rule has none). */
  match: number;
  /** metadata.creationTimestamp, kept for precedence explanations. */
  creationTimestamp: string;
}

export interface RouteRuleIR {
  /** `httproute/<ns>/<name>/rule/<i>/match/<j>` (or grpcroute/...). Unique in a virtual host. */
  name: string;
  source: RuleSourceRef;
  match: MatchIR;
  /** Rule-level filters in spec order, excluding redirects (those are the action). */
  filters: FilterIR[];
  action: ActionIR;
  /** GEP-1742, in milliseconds; 0 means "no timeout". */
  timeouts: TimeoutsIR | null;
  /** GEP-1731. */
  retry: RetryIR | null;
}

export type StringMatchType = 'Exact' | 'RegularExpression';

export interface MatchIR {
  /** Always present: an absent HTTPRoute match is translated to PathPrefix `/`. */
  path: { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string };
  /** Upper-case HTTP method, or null for any. */
  method: string | null;
  /** Header names lower case; all must match. Sorted by name. */
  headers: { type: StringMatchType; name: string; value: string }[];
  /** Names case-sensitive; all must match. Sorted by name. */
  queryParams: { type: StringMatchType; name: string; value: string }[];
}

export interface HeaderValueIR {
  name: string;
  value: string;
}

export interface HeaderModifierIR {
  set: HeaderValueIR[];
  add: HeaderValueIR[];
  /** Lower case. */
  remove: string[];
}

export type PathModifierIR =
  | { type: 'ReplaceFullPath'; value: string }
  /** `prefix` is the rule's PathPrefix match value the replacement applies to. */
  | { type: 'ReplacePrefixMatch'; value: string; prefix: string };

export type FilterIR =
  | { type: 'RequestHeaderModifier'; modifier: HeaderModifierIR }
  | { type: 'ResponseHeaderModifier'; modifier: HeaderModifierIR }
  | { type: 'URLRewrite'; hostname: string | null; path: PathModifierIR | null }
  /** Fire-and-forget copy of the request; `percent` in [0, 100] (fraction converted). */
  | { type: 'RequestMirror'; backend: string; percent: number };

export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

export interface RedirectIR {
  scheme: 'http' | 'https' | null;
  hostname: string | null;
  /** Explicit port, or null to derive it as the spec says (scheme's well-known, else listener). */
  port: number | null;
  path: PathModifierIR | null;
  statusCode: RedirectStatus;
}

export type ActionIR =
  | { type: 'Forward'; backends: WeightedBackendIR[] }
  | { type: 'Redirect'; redirect: RedirectIR }
  /** A direct answer, e.g. 500 for a rule with neither backends nor redirect. */
  | { type: 'Respond'; status: number; reason: string };

export interface WeightedBackendIR {
  /** BackendIR.name, or null when the backendRef is invalid: its share of requests gets 500. */
  backend: string | null;
  weight: number;
  /** Filters of the backendRef, applied after the rule's. */
  filters: FilterIR[];
  /** Why the ref is invalid (condition reason), when backend is null. */
  invalidReason: string | null;
}

export interface TimeoutsIR {
  /** Whole request, including retries; null if unset. */
  requestMs: number | null;
  /** One attempt at a backend; null if unset. */
  backendRequestMs: number | null;
}

export interface RetryIR {
  /** HTTP status codes that are retried (connection errors and backend timeouts always are). */
  codes: number[];
  /** Number of retries after the first attempt. */
  attempts: number;
  /** Base backoff between attempts, milliseconds; null for the data plane's default. */
  backoffMs: number | null;
}

// ---------------------------------------------------------------------------------------------
// Backends

export interface BackendIR {
  /** `service/<namespace>/<name>/<port>` */
  name: string;
  namespace: string;
  serviceName: string;
  port: number;
  appProtocol: string | null;
  /** Sorted by address then port. */
  endpoints: EndpointIR[];
}

export interface EndpointIR {
  address: string;
  /** The target port on the pod (resolved from the EndpointSlice by port name). */
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zone: string | null;
  nodeName: string | null;
  /** Pod name from targetRef, when known. */
  podName: string | null;
  /** SPIFFE ID of the pod's service account, when known (used for mTLS peer checks). */
  identity: string | null;
}

export interface SecretIR {
  /** `secret/<namespace>/<name>` */
  name: string;
  /** PEM. */
  certificateChain: string;
  /** PEM. */
  privateKey: string;
}
