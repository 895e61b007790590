import type { RoutingTable } from '../../api/routing-table.ts';

// The translator's input: every object translation may look at, as plain Kubernetes JSON.
// Providers (Kubernetes informers, the --config directory) fill it; translate() only reads it.
// Types are deliberately loose (spec/status as unknown records): objects come from users and
// from newer API versions, and translate must validate what it uses rather than trust a type.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  /** Secrets */
  data?: Record<string, string>;
  type?: string;
  /** EndpointSlices keep these at the top level. */
  addressType?: string;
  endpoints?: unknown[];
  ports?: unknown[];
}

export interface Snapshot {
  gatewayClasses: KubeObject[];
  gateways: KubeObject[];
  httpRoutes: KubeObject[];
  grpcRoutes: KubeObject[];
  /** v1 and v1beta1 alike. */
  referenceGrants: KubeObject[];
  /** gateway.networking.x-k8s.io XMesh. */
  meshes: KubeObject[];
  namespaces: KubeObject[];
  services: KubeObject[];
  endpointSlices: KubeObject[];
  /** Only the Secrets that Gateways reference. */
  secrets: KubeObject[];
  /** Optional: lets endpoints carry their pod's service-account identity. */
  pods: KubeObject[];
  /** policy.meshlet.dev AuthorizationPolicy objects. */
  authorizationPolicies: KubeObject[];
  /** Supplied by the environment (e.g. the ingress Service's LoadBalancer IPs), keyed `ns/name`. */
  gatewayAddresses: Record<string, string[]>;
  /** Trust domain for SPIFFE identities; defaults to cluster.local. */
  trustDomain?: string;
  /**
   * The `gateway.networking.k8s.io/bundle-version` annotation of the installed GatewayClass CRD:
   * a string when present, null when the CRD has none, undefined when there are no CRDs to ask
   * (file mode). Drives the GatewayClass SupportedVersion condition.
   */
  gatewayApiBundleVersion?: string | null;
}

export function emptySnapshot(): Snapshot {
  return {
    gatewayClasses: [], gateways: [], httpRoutes: [], grpcRoutes: [], referenceGrants: [], meshes: [],
    namespaces: [], services: [], endpointSlices: [], secrets: [], pods: [], authorizationPolicies: [], gatewayAddresses: {},
  };
}

/** The status translation computed for one object meshlet owns (or has entries in). */
export interface StatusUpdate {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /**
   * The complete status to write: for routes, other controllers' parent entries are kept as they
   * were; for GatewayClass/Gateway/XMesh, the whole status.
   */
  status: Record<string, unknown>;
}

export interface TranslateResult {
  statuses: StatusUpdate[];
  ir: RoutingTable;
}

/** Which snapshot list holds each kind: also how the status writer finds the object it writes to. */
export const SNAPSHOT_BUCKETS: Record<string, keyof Omit<Snapshot, 'gatewayAddresses' | 'trustDomain' | 'gatewayApiBundleVersion'>> = {
  GatewayClass: 'gatewayClasses',
  Gateway: 'gateways',
  HTTPRoute: 'httpRoutes',
  GRPCRoute: 'grpcRoutes',
  ReferenceGrant: 'referenceGrants',
  XMesh: 'meshes',
  Namespace: 'namespaces',
  Service: 'services',
  EndpointSlice: 'endpointSlices',
  Secret: 'secrets',
  Pod: 'pods',
  AuthorizationPolicy: 'authorizationPolicies',
};

/**
 * Buckets objects by kind (Gateway API kinds only for their API groups, core kinds for theirs).
 * Returns the snapshot plus the objects it did not recognise, so callers can say so.
 */
export function buildSnapshot(objects: KubeObject[], extra: Partial<Pick<Snapshot, 'gatewayAddresses' | 'trustDomain' | 'gatewayApiBundleVersion'>> = {}): { snapshot: Snapshot; ignored: KubeObject[] } {
  const snapshot = { ...emptySnapshot(), ...extra };
  const ignored: KubeObject[] = [];
  for (const obj of objects) {
    const group = obj.apiVersion.includes('/') ? obj.apiVersion.slice(0, obj.apiVersion.lastIndexOf('/')) : '';
    const bucket = SNAPSHOT_BUCKETS[obj.kind];
    const groupOk = bucket === undefined ? false
      : ['Namespace', 'Service', 'Secret', 'Pod'].includes(obj.kind) ? group === ''
        : obj.kind === 'EndpointSlice' ? group === 'discovery.k8s.io'
          : obj.kind === 'XMesh' ? group === 'gateway.networking.x-k8s.io'
            : obj.kind === 'AuthorizationPolicy' ? group === 'policy.meshlet.dev'
            : group === 'gateway.networking.k8s.io' || group === 'gateway.networking.x-k8s.io';
    if (bucket && groupOk) snapshot[bucket].push(obj);
    else ignored.push(obj);
  }
  return { snapshot, ignored };
}
