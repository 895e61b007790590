// The containers and volumes injection adds, rendered from the mesh config and one pod's
// settings. meshlet-init is root with NET_ADMIN/NET_RAW and nothing else; meshlet-proxy is uid
// 1337 (exempt from its own redirect rules) with no capabilities at all.
import { AGENT_UID, PORTS } from '../../api/names.ts';
import { CA_TOKEN_AUDIENCE, ROOT_CA_CONFIGMAP } from '../../api/identity.ts';
import { INIT_FLAGS } from '../../api/init-args.ts';
import {
  CONTAINER_NAMES, DEFAULT_CLUSTER_NETWORKS, MESHLET_ENV, POD_ENV, ROOT_CA_DIR, ROOT_CA_PATH, TOKEN_DIR, TOKEN_PATH, VOLUME_NAMES, type AppProbers,
} from '../../api/pod-env.ts';
import type { PodSettings } from './annotations.ts';
import { parseQuantity } from './quantity.ts';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS, DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS, DEFAULT_TRACE_SAMPLING, type MeshConfig } from './mesh-config.ts';
import type { Container, Volume } from './types.ts';

const ready = (): { httpGet: { path: string; port: number } } => ({ httpGet: { path: '/ready', port: PORTS.admin } });

/** `meshlet init` flags for the pod's exclusions; defaults are left to init itself. */
export function initArgs(s: PodSettings): string[] {
  const args = ['init'];
  const add = (flag: string, list: readonly (string | number)[]): void => {
    if (list.length > 0) args.push(flag, list.join(','));
  };
  add(INIT_FLAGS.excludeInboundPorts, s.excludeInboundPorts);
  add(INIT_FLAGS.excludeOutboundPorts, s.excludeOutboundPorts);
  add(INIT_FLAGS.excludeOutboundCidrs, s.excludeOutboundCidrs);
  if (s.includeOutboundCidrs !== null) args.push(INIT_FLAGS.includeOutboundCidrs, s.includeOutboundCidrs === '*' ? '*' : s.includeOutboundCidrs.join(','));
  return args;
}

export function initContainer(mesh: MeshConfig, s: PodSettings): Container {
  return {
    name: CONTAINER_NAMES.init,
    // Its own image: iptables is not in the sidecar's distroless one (ADR 0015).
    image: mesh.initImage,
    args: initArgs(s),
    resources: structuredClone(mesh.initResources),
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      // iptables takes its lock under /run: the root filesystem must be writable here.
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}

function fieldEnv(name: string, fieldPath: string): { name: string; valueFrom: unknown } {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** NODE_OPTIONS for a proxy whose memory limit is below 1 GiB (ADR 0023). */
export const SMALL_HEAP_NODE_OPTIONS = '--max-semi-space-size=2';

/** Whether the proxy's memory limit is below the 1 GiB at which V8 still picks 16 MB semi-spaces. */
function smallProxyHeap(s: PodSettings): boolean {
  const limit = s.proxyResources.limits?.memory;
  if (limit === undefined) return false;
  const bytes = parseQuantity(limit);
  return bytes !== null && bytes < 2 ** 30;
}

export function proxyContainer(mesh: MeshConfig, s: PodSettings, probers: AppProbers, workload: string | null = null): Container {
  const env: Container['env'] = [
    fieldEnv(POD_ENV.podName, 'metadata.name'),
    fieldEnv(POD_ENV.podNamespace, 'metadata.namespace'),
    fieldEnv(POD_ENV.podIp, 'status.podIP'),
    fieldEnv(POD_ENV.serviceAccount, 'spec.serviceAccountName'),
    fieldEnv(POD_ENV.nodeName, 'spec.nodeName'),
    { name: MESHLET_ENV.controllerAddress, value: mesh.controllerAddress },
    { name: MESHLET_ENV.tokenFile, value: TOKEN_PATH },
    { name: MESHLET_ENV.rootCaFile, value: ROOT_CA_PATH },
    { name: MESHLET_ENV.trustDomain, value: mesh.trustDomain },
    { name: MESHLET_ENV.logLevel, value: s.logLevel },
    { name: MESHLET_ENV.mtlsMode, value: s.mtlsMode },
    { name: MESHLET_ENV.defaultInboundPolicy, value: s.defaultInboundPolicy },
    { name: MESHLET_ENV.accessLog, value: s.accessLog },
    { name: MESHLET_ENV.opaquePorts, value: s.opaquePorts.join(',') },
    { name: MESHLET_ENV.sidecarMode, value: s.sidecarMode },
  ];
  // Only when it differs from the agent's own default, so pods injected before it existed are unchanged.
  if (mesh.defaultRequestTimeoutSeconds !== DEFAULT_REQUEST_TIMEOUT_SECONDS) env.push({ name: MESHLET_ENV.defaultRequestTimeout, value: String(mesh.defaultRequestTimeoutSeconds) });
  if (mesh.streamIdleTimeoutSeconds !== DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS) env.push({ name: MESHLET_ENV.streamIdleTimeout, value: String(mesh.streamIdleTimeoutSeconds) });
  if (mesh.clusterNetworks.join(',') !== DEFAULT_CLUSTER_NETWORKS.join(',')) env.push({ name: MESHLET_ENV.clusterNetworks, value: mesh.clusterNetworks.join(',') });
  // Traces (issue 11): the standard OTel variables, which the agent honours like any SDK.
  if (mesh.otlpEndpoint !== '') {
    env.push({ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: mesh.otlpEndpoint });
    if (mesh.traceSampling !== DEFAULT_TRACE_SAMPLING) env.push({ name: 'OTEL_TRACES_SAMPLER_ARG', value: String(mesh.traceSampling) });
  }
  // Node sizes V8's young generation from the container's memory limit: at 512 MiB or less it
  // gets 1 MB semi-spaces, which cost ~1.3× instructions per request in scavenges; 2 MB costs
  // nothing measurable and saves nothing a pod keeps (ADR 0023). Below the 1 GiB default, pin 2.
  if (smallProxyHeap(s)) env.push({ name: 'NODE_OPTIONS', value: SMALL_HEAP_NODE_OPTIONS });
  if (Object.keys(probers).length > 0) env.push({ name: MESHLET_ENV.appProbers, value: JSON.stringify(probers) });
  // Metric labels and the trace resource name the workload, not the pod (issue 11); without it the agent guesses from the pod name.
  if (workload !== null) env.push({ name: MESHLET_ENV.workloadName, value: workload });
  const native = s.sidecarMode === 'native';
  return {
    name: CONTAINER_NAMES.proxy,
    image: mesh.image,
    args: ['agent', '--controller', mesh.controllerAddress, '--token-file', TOKEN_PATH],
    // With restartPolicy Always this init container is a native sidecar: it starts before the
    // user's init containers, and the kubelet stops it after the app exits (Jobs complete).
    ...(native ? { restartPolicy: 'Always' } : {}),
    ports: [{ name: 'meshlet-admin', containerPort: PORTS.admin, protocol: 'TCP' }],
    env,
    resources: structuredClone(s.proxyResources),
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsGroup: AGENT_UID,
      runAsNonRoot: true,
      runAsUser: AGENT_UID,
    },
    // Native: the kubelet starts the next container only once this probe passes, so the app
    // never starts before its proxy. Legacy: postStart blocks the app containers the same way.
    startupProbe: { ...ready(), periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 },
    readinessProbe: { ...ready(), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    ...(native ? {} : { lifecycle: { postStart: { exec: { command: ['meshlet', 'wait'] } } } }),
    volumeMounts: [
      { name: VOLUME_NAMES.token, mountPath: TOKEN_DIR, readOnly: true },
      { name: VOLUME_NAMES.rootCa, mountPath: ROOT_CA_DIR, readOnly: true },
    ],
  };
}

export function volumes(mesh: MeshConfig): Volume[] {
  return [
    {
      name: VOLUME_NAMES.token,
      projected: { sources: [{ serviceAccountToken: { audience: CA_TOKEN_AUDIENCE, expirationSeconds: mesh.tokenExpirationSeconds, path: TOKEN_PATH.slice(TOKEN_DIR.length + 1) } }] },
    },
    { name: VOLUME_NAMES.rootCa, configMap: { name: ROOT_CA_CONFIGMAP.name } },
  ];
}
