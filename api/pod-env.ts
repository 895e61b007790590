// What the injector hands the agent in an injected pod: environment variable names, the paths
// where the projected token and the root CA are mounted, the container and volume names, and the
// format of the original app probes the agent runs on the kubelet's behalf. The injector writes
// these and the agent reads them; both import them from here. The token's audience and the
// root CA ConfigMap's name are identity contracts (api/identity.ts).
import { ROOT_CA_CONFIGMAP } from './identity.ts';

/** Downward API: who and where the pod is. */
export const POD_ENV = {
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  podIp: 'POD_IP',
  serviceAccount: 'POD_SERVICE_ACCOUNT',
  nodeName: 'NODE_NAME',
} as const;

/** meshlet's own settings for the agent (annotations already validated and defaulted). */
export const MESHLET_ENV = {
  controllerAddress: 'MESHLET_CONTROLLER_ADDRESS',
  tokenFile: 'MESHLET_TOKEN_FILE',
  rootCaFile: 'MESHLET_ROOT_CA_FILE',
  trustDomain: 'MESHLET_TRUST_DOMAIN',
  logLevel: 'MESHLET_LOG_LEVEL',
  mtlsMode: 'MESHLET_MTLS_MODE',
  defaultInboundPolicy: 'MESHLET_DEFAULT_INBOUND_POLICY',
  accessLog: 'MESHLET_ACCESS_LOG',
  /** Comma-separated ports; empty when none. */
  opaquePorts: 'MESHLET_OPAQUE_PORTS',
  /** `native` or `legacy`: how the agent's lifecycle is tied to the app's. */
  sidecarMode: 'MESHLET_SIDECAR_MODE',
  /** JSON AppProbers: the app's original probes, by the admin path the kubelet now calls. */
  appProbers: 'MESHLET_APP_PROBERS',
  /** Seconds; the request timeout of routes that set none (ADR 0006), 0 for none. */
  defaultRequestTimeout: 'MESHLET_DEFAULT_REQUEST_TIMEOUT',
  /** Seconds without a byte either way before an exchange is ended (issue 15), 0 for none. */
  streamIdleTimeout: 'MESHLET_STREAM_IDLE_TIMEOUT',
  /** The pod's workload (Deployment, Job, CronJob… name), derived by the injector from the pod's owner (issue 11). */
  workloadName: 'MESHLET_WORKLOAD_NAME',
  /** Comma-separated CIDRs: outbound destinations inside them wait for the controller's answer, others pass straight through. */
  clusterNetworks: 'MESHLET_CLUSTER_NETWORKS',
} as const;

/**
 * Where the cluster's pods and Services may live (Linkerd's `clusterNetworks` default: the
 * RFC 1918 private ranges, RFC 6598 shared space and IPv6 unique-local addresses). Only an
 * outbound destination inside them can be a mesh Service, so only those wait for the controller.
 */
export const DEFAULT_CLUSTER_NETWORKS: readonly string[] = ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'];

export const CONTAINER_NAMES = { init: 'meshlet-init', proxy: 'meshlet-proxy' } as const;
export const VOLUME_NAMES = { token: 'meshlet-token', rootCa: 'meshlet-root-ca' } as const;

export const TOKEN_DIR = '/var/run/secrets/meshlet/tokens';
export const TOKEN_PATH = `${TOKEN_DIR}/meshlet-token`;
/** Where the ROOT_CA_CONFIGMAP (api/identity.ts) is mounted. */
export const ROOT_CA_DIR = '/var/run/secrets/meshlet/root-ca';
export const ROOT_CA_PATH = `${ROOT_CA_DIR}/${ROOT_CA_CONFIGMAP.key}`;

/** Probe paths on the agent's admin port (15020): `/app-health/<container>/<kind>`. */
export const APP_HEALTH_PREFIX = '/app-health/';
export const PROBE_KINDS = { livenessProbe: 'livez', readinessProbe: 'readyz', startupProbe: 'startupz' } as const;
export type ProbeField = keyof typeof PROBE_KINDS;

export function appHealthPath(container: string, field: ProbeField): string {
  return `${APP_HEALTH_PREFIX}${container}/${PROBE_KINDS[field]}`;
}

/** One original probe action, with named ports resolved to numbers (the agent has no pod spec). */
export interface AppProber {
  httpGet?: { path?: string; port: number; host?: string; scheme?: 'HTTP' | 'HTTPS'; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port: number; host?: string };
  grpc?: { port: number; service?: string };
  timeoutSeconds?: number;
}

/** The value of MESHLET_APP_PROBERS: admin path → original probe (Istio's ISTIO_KUBE_APP_PROBERS). */
export type AppProbers = Record<string, AppProber>;
