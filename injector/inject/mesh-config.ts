// The mesh-wide settings the injector renders from: image, controller address, defaults that
// pod annotations may override, and the webhook's own policy. The controller builds one from its
// flags; `meshlet inject --mesh-config FILE` reads overrides from YAML. Everything has a default,
// so an empty override is a working configuration.
import { PORTS } from '../../api/names.ts';
import { MESHLET_SYSTEM_NAMESPACE } from '../../api/identity.ts';
import {
  ACCESS_LOG_FORMATS, DEFAULT_INBOUND_POLICIES, LOG_LEVELS, MTLS_MODES, SIDECAR_MODES,
  type AccessLogFormat, type DefaultInboundPolicy, type LogLevel, type MtlsMode, type SidecarMode,
} from '../../api/pod-annotations.ts';
import { DEFAULT_TRUST_DOMAIN } from '../../api/names.ts';
import { DEFAULT_CLUSTER_NETWORKS } from '../../api/pod-env.ts';
import { isCidr } from './cidr.ts';
import { MeshConfigInvalidError } from './errors.ts';
import { parseQuantity } from './quantity.ts';

export const MESHLET_VERSION = '0.1.0';

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** The agent's own default (agent/engine/core.ts DEFAULT_REQUEST_TIMEOUT_MS), which it applies without the variable. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 15;

/** The agent's own default (agent/engine/stream-idle.ts DEFAULT_STREAM_IDLE_TIMEOUT_MS, Envoy's). */
export const DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS = 300;

/** The agent's own root sampling ratio in a cluster (cli/agent-command.ts), which it applies without the variable. */
export const DEFAULT_TRACE_SAMPLING = 0.01;

export interface MeshConfig {
  /** The sidecar's image (distroless); its entrypoint is the `meshlet` binary. */
  image: string;
  /** The init container's image: the same binary on Debian slim with iptables (ADR 0015). */
  initImage: string;
  /** The agent's version, recorded in meshlet.dev/injection-status. */
  version: string;
  controllerAddress: string;
  /** meshlet's own namespace: never injected. */
  meshletNamespace: string;
  trustDomain: string;
  mtlsMode: MtlsMode;
  defaultInboundPolicy: DefaultInboundPolicy;
  /** Request timeout of routes that set none, in seconds (ADR 0006); 0: none. */
  defaultRequestTimeoutSeconds: number;
  /** No request or response byte on an exchange for this long ends it (issue 15); 0: none. */
  streamIdleTimeoutSeconds: number;
  accessLog: AccessLogFormat;
  /** OTLP/HTTP base URL every injected proxy exports spans to ('' : no tracing). */
  otlpEndpoint: string;
  /** Root sampling ratio in [0, 1] for the injected proxies (the agent's own default: 0.01). */
  traceSampling: number;
  logLevel: LogLevel;
  sidecarMode: SidecarMode;
  proxyResources: Resources;
  initResources: Resources;
  /** Lifetime of the projected token (the kubelet renews it at 80%; Kubernetes' minimum is 600). */
  tokenExpirationSeconds: number;
  /**
   * CIDRs where the cluster's pods and Services live (Linkerd's clusterNetworks): a sidecar asks
   * the controller about, and refuses while unanswered, only outbound destinations inside them.
   */
  clusterNetworks: string[];
  /** Namespaces never injected, besides kube-system, kube-public, kube-node-lease and meshletNamespace. */
  ignoredNamespaces: string[];
  /** Name of the MutatingWebhookConfiguration the controller keeps current. */
  webhookName: string;
  failurePolicy: 'Fail' | 'Ignore';
}

export function defaultMeshConfig(): MeshConfig {
  return {
    image: `meshlet/meshlet:${MESHLET_VERSION}`,
    initImage: `meshlet/meshlet-init:${MESHLET_VERSION}`,
    version: MESHLET_VERSION,
    controllerAddress: `wss://meshlet-controller.${MESHLET_SYSTEM_NAMESPACE}.svc:${PORTS.controller}`,
    meshletNamespace: MESHLET_SYSTEM_NAMESPACE,
    trustDomain: DEFAULT_TRUST_DOMAIN,
    mtlsMode: 'PERMISSIVE',
    defaultInboundPolicy: 'allow',
    defaultRequestTimeoutSeconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
    streamIdleTimeoutSeconds: DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS,
    accessLog: 'off',
    otlpEndpoint: '',
    traceSampling: DEFAULT_TRACE_SAMPLING,
    logLevel: 'info',
    sidecarMode: 'native',
    // Istio's proxy defaults: enough for a busy pod, limits that keep a leak from taking a node.
    proxyResources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    // `meshlet init` runs for a second: Node's start-up plus one iptables-restore per family.
    initResources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    tokenExpirationSeconds: 3600,
    clusterNetworks: [...DEFAULT_CLUSTER_NETWORKS],
    ignoredNamespaces: [],
    webhookName: 'meshlet-injector',
    failurePolicy: 'Fail',
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new MeshConfigInvalidError(`${key} must be one of ${allowed.join('|')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function text(key: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw new MeshConfigInvalidError(`${key} must be a non-empty string`);
  return v;
}

/** '' (off) or an http(s) URL: the proxies' exporter would otherwise fail on every pod, later. */
function url(key: string, v: unknown): string {
  if (v === '' || v === null) return '';
  if (typeof v === 'string') {
    try {
      const u = new URL(v);
      if (u.protocol === 'http:' || u.protocol === 'https:') return v;
    } catch { /* reported below */ }
  }
  throw new MeshConfigInvalidError(`${key} must be an http(s) URL (an OTLP/HTTP collector, e.g. http://otel-collector.observability:4318) or '' for none, got ${JSON.stringify(v)}`);
}

function seconds(key: string, v: unknown, zero: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new MeshConfigInvalidError(`${key} must be a number of seconds, 0 for ${zero}`);
  return v;
}

function resources(key: string, v: unknown, base: Resources): Resources {
  if (!isObj(v)) throw new MeshConfigInvalidError(`${key} must be a mapping with requests and limits`);
  const out: Resources = { requests: { ...base.requests }, limits: { ...base.limits } };
  for (const part of ['requests', 'limits'] as const) {
    const given = v[part];
    if (given === undefined) continue;
    if (!isObj(given)) throw new MeshConfigInvalidError(`${key}.${part} must be a mapping`);
    for (const [name, q] of Object.entries(given)) {
      if (name !== 'cpu' && name !== 'memory') throw new MeshConfigInvalidError(`${key}.${part}: unknown resource '${name}'`);
      const s = typeof q === 'number' ? String(q) : q;
      if (typeof s !== 'string' || parseQuantity(s) === null) throw new MeshConfigInvalidError(`${key}.${part}.${name}: '${String(q)}' is not a quantity`);
      out[part][name] = s;
    }
  }
  for (const name of ['cpu', 'memory'] as const) {
    if (parseQuantity(out.requests[name])! > parseQuantity(out.limits[name])!) throw new MeshConfigInvalidError(`${key}: the ${name} request exceeds its limit`);
  }
  return out;
}

/** Defaults overlaid with `overrides` (e.g. parsed from YAML), checked. Unknown keys are errors. */
export function resolveMeshConfig(overrides: unknown = {}): MeshConfig {
  if (overrides === null || overrides === undefined) overrides = {};
  if (!isObj(overrides)) throw new MeshConfigInvalidError('must be a mapping');
  const c = defaultMeshConfig();
  for (const [key, v] of Object.entries(overrides)) {
    switch (key) {
      case 'image': case 'initImage': case 'version': case 'controllerAddress': case 'meshletNamespace': case 'trustDomain': case 'webhookName':
        c[key] = text(key, v); break;
      case 'mtlsMode': c.mtlsMode = oneOf(key, v, MTLS_MODES); break;
      case 'defaultInboundPolicy': c.defaultInboundPolicy = oneOf(key, v, DEFAULT_INBOUND_POLICIES); break;
      case 'accessLog': c.accessLog = oneOf(key, v, ACCESS_LOG_FORMATS); break;
      case 'logLevel': c.logLevel = oneOf(key, v, LOG_LEVELS); break;
      case 'sidecarMode': c.sidecarMode = oneOf(key, v, SIDECAR_MODES); break;
      case 'failurePolicy': c.failurePolicy = oneOf(key, v, ['Fail', 'Ignore'] as const); break;
      case 'proxyResources': c.proxyResources = resources(key, v, c.proxyResources); break;
      case 'initResources': c.initResources = resources(key, v, c.initResources); break;
      case 'defaultRequestTimeoutSeconds': c.defaultRequestTimeoutSeconds = seconds(key, v, 'no default timeout'); break;
      case 'streamIdleTimeoutSeconds': c.streamIdleTimeoutSeconds = seconds(key, v, 'no stream idle timeout'); break;
      case 'otlpEndpoint': c.otlpEndpoint = url(key, v); break;
      case 'traceSampling':
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw new MeshConfigInvalidError(`traceSampling must be a ratio in [0, 1], got ${JSON.stringify(v)}`);
        c.traceSampling = v;
        break;
      case 'tokenExpirationSeconds':
        if (!Number.isInteger(v) || (v as number) < 600) throw new MeshConfigInvalidError('tokenExpirationSeconds must be a whole number of seconds, at least 600 (the Kubernetes minimum)');
        c.tokenExpirationSeconds = v as number;
        break;
      case 'clusterNetworks': {
        // A list, or Linkerd's comma-separated string. Checked here so a typo is reported by the
        // controller and `meshlet inject` rather than stopping every injected sidecar.
        const items = typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter((x) => x !== '') : v;
        if (!Array.isArray(items) || !items.every((n) => typeof n === 'string')) throw new MeshConfigInvalidError('clusterNetworks must be a list of CIDRs (e.g. [10.0.0.0/8, fd00::/8])');
        const bad = items.find((n) => !isCidr(n.trim()));
        if (bad !== undefined) throw new MeshConfigInvalidError(`clusterNetworks: '${bad.slice(0, 100)}' is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)`);
        if (items.length === 0) throw new MeshConfigInvalidError('clusterNetworks must list at least one CIDR (0.0.0.0/0 and ::/0 to ask the controller about every destination)');
        c.clusterNetworks = items.map((n) => n.trim());
        break;
      }
      case 'ignoredNamespaces':
        if (!Array.isArray(v) || !v.every((n) => typeof n === 'string')) throw new MeshConfigInvalidError('ignoredNamespaces must be a list of names');
        c.ignoredNamespaces = [...v];
        break;
      default: throw new MeshConfigInvalidError(`unknown key '${key}'`);
    }
  }
  return c;
}
