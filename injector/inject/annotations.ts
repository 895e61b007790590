// A pod's `meshlet.dev/*` annotations, validated and merged with the mesh config into the
// settings the renderer uses. The first invalid annotation throws InjectionAnnotationError
// naming it; unknown `meshlet.dev/` keys are reported as warnings (a typo would otherwise be
// silently ignored).
import {
  ACCESS_LOG_FORMATS, DEFAULT_INBOUND_POLICIES, INJECT_OPT_IN_VALUES, INJECT_OPT_OUT_VALUES, LOG_LEVELS, MTLS_MODES,
  POD_ANNOTATIONS as A, SIDECAR_MODES,
  type AccessLogFormat, type DefaultInboundPolicy, type LogLevel, type MtlsMode, type SidecarMode,
} from '../../api/pod-annotations.ts';
import { ANNOTATION_PREFIX } from '../../api/names.ts';
import { isCidr } from './cidr.ts';
import { InjectionAnnotationError } from './errors.ts';
import type { MeshConfig, Resources } from './mesh-config.ts';
import { parseQuantity } from './quantity.ts';

export interface PodSettings {
  excludeInboundPorts: number[];
  excludeOutboundPorts: number[];
  excludeOutboundCidrs: string[];
  /** null: not given (everything is redirected). */
  includeOutboundCidrs: '*' | string[] | null;
  opaquePorts: number[];
  proxyResources: Resources;
  logLevel: LogLevel;
  mtlsMode: MtlsMode;
  defaultInboundPolicy: DefaultInboundPolicy;
  accessLog: AccessLogFormat;
  sidecarMode: SidecarMode;
}

const KNOWN = new Set<string>(Object.values(A));

const items = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

function ports(key: string, v: string): number[] {
  return items(v).map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new InjectionAnnotationError(key, v, 'comma-separated ports 1-65535');
    return n;
  });
}

function cidrs(key: string, v: string): string[] {
  const list = items(v);
  for (const c of list) if (!isCidr(c)) throw new InjectionAnnotationError(key, v, `comma-separated IPv4/IPv6 CIDRs; '${c}' is not one`);
  return list;
}

function oneOf<T extends string>(key: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new InjectionAnnotationError(key, v, `one of ${allowed.join('|')}`);
  return v as T;
}

/** `REQUEST` or `REQUEST,LIMIT`; a lone request above the default limit raises the limit to it. */
function resource(key: string, v: string, name: 'cpu' | 'memory', into: Resources): void {
  const parts = v.split(',').map((s) => s.trim());
  const [request, limit] = parts;
  const expected = `a Kubernetes quantity REQUEST or REQUEST,LIMIT (e.g. ${name === 'cpu' ? '200m,1' : '256Mi,512Mi'})`;
  if (parts.length > 2 || !request || parseQuantity(request) === null || (limit !== undefined && parseQuantity(limit) === null)) {
    throw new InjectionAnnotationError(key, v, expected);
  }
  into.requests[name] = request;
  if (limit !== undefined) {
    if (parseQuantity(request)! > parseQuantity(limit)!) throw new InjectionAnnotationError(key, v, 'the request must not exceed the limit');
    into.limits[name] = limit;
  } else if (parseQuantity(request)! > parseQuantity(into.limits[name])!) {
    into.limits[name] = request;
  }
}

/** The annotations a namespace may carry as its pods' defaults (mesh < namespace < pod). */
const NAMESPACE_KEYS = [A.mtlsMode, A.defaultInboundPolicy] as const;

/**
 * The namespace-level defaults. An invalid value there is a warning, not a refusal: refusing
 * would make every pod of the namespace unschedulable for one typo, so the mesh default stays.
 */
function namespaceDefaults(ns: Record<string, string>, mesh: MeshConfig, namespace: string, warnings: string[]): Pick<PodSettings, 'mtlsMode' | 'defaultInboundPolicy'> {
  const d = { mtlsMode: mesh.mtlsMode, defaultInboundPolicy: mesh.defaultInboundPolicy };
  for (const key of NAMESPACE_KEYS) {
    const v = ns[key];
    if (v === undefined) continue;
    try {
      if (key === A.mtlsMode) d.mtlsMode = oneOf(key, v, MTLS_MODES);
      else d.defaultInboundPolicy = oneOf(key, v, DEFAULT_INBOUND_POLICIES);
    } catch (err) {
      if (!(err instanceof InjectionAnnotationError)) throw err;
      warnings.push(`namespace ${namespace}: ${err.message}; the mesh default is used`);
    }
  }
  return d;
}

/**
 * Settings for one pod; throws InjectionAnnotationError on the first invalid pod annotation.
 * `namespace` carries the namespace's annotations when known (the webhook), whose
 * mtls-mode and default-inbound-policy apply to pods that do not set their own.
 */
export function podSettings(annotations: Record<string, string>, mesh: MeshConfig, warnings: string[], namespace?: { name: string; annotations?: Record<string, string> }): PodSettings {
  const nsDefaults = namespaceDefaults(namespace?.annotations ?? {}, mesh, namespace?.name ?? '', warnings);
  const s: PodSettings = {
    excludeInboundPorts: [], excludeOutboundPorts: [], excludeOutboundCidrs: [], includeOutboundCidrs: null, opaquePorts: [],
    proxyResources: { requests: { ...mesh.proxyResources.requests }, limits: { ...mesh.proxyResources.limits } },
    logLevel: mesh.logLevel, mtlsMode: nsDefaults.mtlsMode, defaultInboundPolicy: nsDefaults.defaultInboundPolicy,
    accessLog: mesh.accessLog, sidecarMode: mesh.sidecarMode,
  };
  for (const key of Object.keys(annotations).sort()) {
    const v = annotations[key]!;
    if (typeof v !== 'string') throw new InjectionAnnotationError(key, String(v), 'annotation values are strings');
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    if (!KNOWN.has(key)) {
      warnings.push(`unknown annotation ${key} ignored (see docs/injection.md for the list)`);
      continue;
    }
    switch (key) {
      case A.inject: oneOf(key, v, [...INJECT_OPT_IN_VALUES, ...INJECT_OPT_OUT_VALUES]); break;
      case A.excludeInboundPorts: s.excludeInboundPorts = ports(key, v); break;
      case A.excludeOutboundPorts: s.excludeOutboundPorts = ports(key, v); break;
      case A.opaquePorts: s.opaquePorts = ports(key, v); break;
      case A.excludeOutboundCidrs: s.excludeOutboundCidrs = cidrs(key, v); break;
      case A.includeOutboundCidrs: s.includeOutboundCidrs = v.trim() === '*' ? '*' : cidrs(key, v); break;
      case A.proxyCpu: resource(key, v, 'cpu', s.proxyResources); break;
      case A.proxyMemory: resource(key, v, 'memory', s.proxyResources); break;
      case A.logLevel: s.logLevel = oneOf(key, v, LOG_LEVELS); break;
      case A.mtlsMode: s.mtlsMode = oneOf(key, v, MTLS_MODES); break;
      case A.defaultInboundPolicy: s.defaultInboundPolicy = oneOf(key, v, DEFAULT_INBOUND_POLICIES); break;
      case A.accessLog: s.accessLog = oneOf(key, v, ACCESS_LOG_FORMATS); break;
      case A.sidecarMode: s.sidecarMode = oneOf(key, v, SIDECAR_MODES); break;
      default: break; // injection-status: ours, read by strip.ts
    }
  }
  return s;
}
