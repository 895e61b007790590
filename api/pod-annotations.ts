// The pod annotations (all under `meshlet.dev/`) that users set to tune injection and the agent,
// with the values each accepts. The injector validates them and refuses a pod whose annotation
// is wrong, naming it; the agent receives the result through the environment (api/pod-env.ts).

export const POD_ANNOTATIONS = {
  /** `"false"` opts the pod out (the pod label of the same name wins over it). */
  inject: 'meshlet.dev/inject',
  /** Written by the injector: what it added, so a re-injection can strip it first. */
  injectionStatus: 'meshlet.dev/injection-status',
  excludeInboundPorts: 'meshlet.dev/exclude-inbound-ports',
  excludeOutboundPorts: 'meshlet.dev/exclude-outbound-ports',
  excludeOutboundCidrs: 'meshlet.dev/exclude-outbound-cidrs',
  includeOutboundCidrs: 'meshlet.dev/include-outbound-cidrs',
  /** Ports the agent proxies as plain TCP without protocol detection (server-speaks-first). */
  opaquePorts: 'meshlet.dev/opaque-ports',
  /** `REQUEST` or `REQUEST,LIMIT`, Kubernetes quantities. */
  proxyCpu: 'meshlet.dev/proxy-cpu',
  proxyMemory: 'meshlet.dev/proxy-memory',
  logLevel: 'meshlet.dev/log-level',
  mtlsMode: 'meshlet.dev/mtls-mode',
  defaultInboundPolicy: 'meshlet.dev/default-inbound-policy',
  accessLog: 'meshlet.dev/access-log',
  sidecarMode: 'meshlet.dev/sidecar-mode',
} as const;

export type PodAnnotation = typeof POD_ANNOTATIONS[keyof typeof POD_ANNOTATIONS];

/** Values of `meshlet.dev/inject` on a pod (label or annotation). */
export const INJECT_OPT_OUT_VALUES = ['false', 'disabled'] as const;
export const INJECT_OPT_IN_VALUES = ['true', 'enabled'] as const;

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = typeof LOG_LEVELS[number];

export const MTLS_MODES = ['PERMISSIVE', 'STRICT'] as const;
export type MtlsMode = typeof MTLS_MODES[number];

export const DEFAULT_INBOUND_POLICIES = ['allow', 'authenticated', 'deny'] as const;
export type DefaultInboundPolicy = typeof DEFAULT_INBOUND_POLICIES[number];

export const ACCESS_LOG_FORMATS = ['off', 'json', 'text'] as const;
export type AccessLogFormat = typeof ACCESS_LOG_FORMATS[number];

/** `native`: proxy as a restartPolicy Always init container (Kubernetes >= 1.29); `legacy`: first app container. */
export const SIDECAR_MODES = ['native', 'legacy'] as const;
export type SidecarMode = typeof SIDECAR_MODES[number];

/**
 * Pod label the injector sets on every pod it injects, so the controller (and users:
 * `kubectl get pods -l meshlet.dev/mesh=meshlet`) can tell meshed endpoints from plain ones.
 */
export const MESHED_POD_LABEL = 'meshlet.dev/mesh';
export const MESHED_POD_LABEL_VALUE = 'meshlet';
