// The informer transform: reduces an object to what the controller reads before it is cached,
// so the controller holds each object once and small. managedFields (server-side apply
// bookkeeping) is often larger than the spec itself, kubectl's last-applied-configuration
// annotation is a second full copy of the object as JSON, and uid, ownerReferences, finalizers,
// generateName and selfLink are read by nothing once the object is cached (Pods keep their uid:
// it tells a recreated pod of the same name apart). Everything else is kept: translation and
// status writes read labels, annotations, spec, status and the other identity fields — except
// for Pods, the largest and most numerous objects, of which translation reads only the labels,
// the service account (endpoint identity) and the pod IPs (AuthorizationPolicy Pod targets).
// Services and EndpointSlices (10 000 of each, and 50 000 endpoints, at the scale issue 14
// names) are reduced the same way to the fields translation reads (stripService,
// stripEndpointSlice), and Namespaces to their metadata. Kinds meshlet writes status to keep
// everything: the status writer merges into their status.
// The cached form also carries its apiVersion and kind (list items lack them) and shares its
// short strings with every other cached object (intern.ts), so nothing downstream copies it.
import type { KubernetesObject } from '@kubernetes/client-node';
import { intern, internStrings } from './intern.ts';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Metadata fields no reader of the cache uses (checked by strip-unread.test.ts against translation). */
export const UNREAD_METADATA = ['managedFields', 'uid', 'ownerReferences', 'finalizers', 'generateName', 'selfLink'] as const;

type Meta = NonNullable<KubernetesObject['metadata']> & Record<string, unknown>;

function stripMetadata(m: Meta, keepUid: boolean): Meta {
  const out: Meta = {};
  for (const [k, v] of Object.entries(m)) {
    if (k === 'uid' ? !keepUid : (UNREAD_METADATA as readonly string[]).includes(k)) continue;
    out[k] = v;
  }
  if (out.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _copy, ...annotations } = out.annotations;
    out.annotations = annotations;
  }
  return out;
}

export function stripUnread<T extends KubernetesObject>(o: T): T {
  return o.metadata ? { ...o, metadata: stripMetadata(o.metadata as Meta, false) } : o;
}

/** A Pod reduced to what translation reads (see above), metadata stripped as for any object. */
export function stripPod<T extends KubernetesObject>(o: T): T {
  const pod = o as T & { spec?: { serviceAccountName?: unknown }; status?: { podIP?: unknown; podIPs?: unknown } };
  const spec = pod.spec?.serviceAccountName === undefined ? {} : { serviceAccountName: pod.spec.serviceAccountName };
  const status: Record<string, unknown> = {};
  if (pod.status?.podIP !== undefined) status.podIP = pod.status.podIP;
  if (pod.status?.podIPs !== undefined) status.podIPs = pod.status.podIPs;
  return { ...pod, ...(pod.metadata ? { metadata: stripMetadata(pod.metadata as Meta, true) } : {}), spec, status };
}

/** `resourceVersion` stays on every kind: the watch loop's relist compares it. */
function identity(m: Meta | undefined): Meta {
  const out: Meta = {};
  if (m === undefined) return out;
  for (const k of ['name', 'namespace', 'resourceVersion'] as const) if (m[k] !== undefined) out[k] = m[k];
  return out;
}

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What translation reads of a Service's spec (attach-mesh.ts, backends.ts, endpoints.ts). */
export const SERVICE_SPEC_READ = ['type', 'clusterIP', 'clusterIPs', 'ports'] as const;
/** ... and of each of its ports (servicePorts): not targetPort or nodePort, which the slices carry. */
export const SERVICE_PORT_READ = ['name', 'port', 'protocol', 'appProtocol'] as const;

/**
 * A Service reduced to what the controller reads: its name, namespace, the spec fields above and
 * its load balancer's addresses (the ingress Service's `status.loadBalancer.ingress` IPs and
 * hostnames are the Gateways' addresses: translation-runner.ts addressesFor). Labels,
 * annotations, the rest of the status and of the spec (selector, session affinity, IP families,
 * traffic policies) are read by nothing: the endpoints come from the EndpointSlices, not from
 * the selector.
 */
export function stripService<T extends KubernetesObject>(o: T): T {
  const spec = (o as { spec?: unknown }).spec;
  const out: Record<string, unknown> = { ...(o as Record<string, unknown>), metadata: identity(o.metadata as Meta | undefined) };
  delete out.status;
  const lb = loadBalancerOf((o as { status?: unknown }).status);
  if (lb !== null) out.status = { loadBalancer: { ingress: lb } };
  if (!isRecord(spec)) return out as T;
  const kept = pick(spec, SERVICE_SPEC_READ);
  if (Array.isArray(kept.ports)) kept.ports = kept.ports.map((p: unknown) => (isRecord(p) ? pick(p, SERVICE_PORT_READ) : p));
  out.spec = kept;
  return out as T;
}

/** A Service status's load balancer ingress points, each reduced to its ip and hostname; null when none. */
function loadBalancerOf(status: unknown): Record<string, unknown>[] | null {
  if (!isRecord(status) || !isRecord(status.loadBalancer) || !Array.isArray(status.loadBalancer.ingress)) return null;
  const points = status.loadBalancer.ingress.filter(isRecord).map((i) => pick(i, ['ip', 'hostname']));
  return points.length === 0 ? null : points;
}

/** The label translation finds an EndpointSlice's Service by (lookup.ts, slice-positions.ts). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** What translation reads of each endpoint (endpoints.ts, policies.ts). */
export const ENDPOINT_READ = ['addresses', 'conditions', 'targetRef', 'zone', 'nodeName'] as const;

/**
 * An endpoint's conditions as translation reads them (endpoints.ts): `ready` absent means true,
 * `serving` absent means `ready`, `terminating` absent means false. Conditions that say only
 * what their absence says (every ready endpoint: `{ready: true, serving: true, terminating:
 * false}`) are dropped, one object less per endpoint.
 */
function conditions(c: unknown): Record<string, unknown> | undefined {
  if (!isRecord(c)) return undefined;
  const out = pick(c, ['ready', 'serving', 'terminating']);
  const ready = typeof out.ready === 'boolean' ? out.ready : true;
  const defaults = (out.ready === undefined || out.ready === true)
    && (out.serving === undefined || out.serving === ready) && (out.terminating === undefined || out.terminating === false);
  return defaults ? undefined : out;
}

/**
 * An EndpointSlice reduced to what translation reads: name, namespace, the Service-name label,
 * addressType, each port's name and number, and each endpoint's addresses, conditions (unless
 * the defaults), Pod reference (kind, name, namespace), zone and node. Gone: other labels and
 * annotations (the endpoints controller's trigger timestamp changes with every update), hints,
 * hostnames, deprecated topology, a port's protocol and appProtocol, the reference's uid.
 */
export function stripEndpointSlice<T extends KubernetesObject>(o: T): T {
  const es = o as T & { ports?: unknown; endpoints?: unknown };
  const meta = identity(o.metadata as Meta | undefined);
  const label = o.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (label !== undefined) meta.labels = { [SERVICE_NAME_LABEL]: label };
  const out: Record<string, unknown> = { apiVersion: es.apiVersion, kind: es.kind, metadata: meta };
  for (const k of ['apiVersion', 'kind']) if (out[k] === undefined) delete out[k];
  if ((es as { addressType?: unknown }).addressType !== undefined) out.addressType = (es as { addressType?: unknown }).addressType;
  if (Array.isArray(es.ports)) out.ports = es.ports.map((p: unknown) => (isRecord(p) ? pick(p, ['name', 'port']) : p));
  if (Array.isArray(es.endpoints)) {
    out.endpoints = es.endpoints.map((e: unknown) => {
      if (!isRecord(e)) return e;
      const ep = pick(e, ENDPOINT_READ);
      const c = conditions(ep.conditions);
      if (c === undefined) delete ep.conditions;
      else ep.conditions = c;
      if (isRecord(ep.targetRef)) ep.targetRef = pick(ep.targetRef, ['kind', 'name', 'namespace']);
      return ep;
    });
  }
  return out as T;
}

/** A Namespace: its metadata (labels and annotations are read: injection, mTLS mode), no spec or status. */
export function stripNamespace<T extends KubernetesObject>(o: T): T {
  const { spec: _spec, status: _status, ...rest } = o as T & { spec?: unknown; status?: unknown };
  return stripUnread(rest as T);
}

const STRIP_BY_KIND: Record<string, <T extends KubernetesObject>(o: T) => T> = {
  Pod: stripPod, Service: stripService, EndpointSlice: stripEndpointSlice, Namespace: stripNamespace,
};

/**
 * The transform for one watched kind: stripped, strings interned, and (given the served
 * apiVersion) apiVersion and kind filled in, so the cached object is the one snapshots hold.
 */
export function transformFor(kind: string, apiVersion?: string): <T extends KubernetesObject>(o: T) => T {
  const strip = STRIP_BY_KIND[kind] ?? stripUnread;
  const av = apiVersion === undefined ? undefined : intern(apiVersion);
  const k = intern(kind);
  return <T extends KubernetesObject>(o: T): T => {
    const out = internStrings(strip(o));
    return av === undefined ? out : { ...out, apiVersion: av, kind: k };
  };
}
