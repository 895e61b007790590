// The informer transform: reduces an object to what the controller reads before it is cached,
// so the controller holds each object once and small. managedFields (server-side apply
// bookkeeping) is often larger than the spec itself, kubectl's last-applied-configuration
// annotation is a second full copy of the object as JSON, and uid, ownerReferences, finalizers,
// generateName and selfLink are read by nothing once the object is cached (Pods keep their uid:
// it tells a recreated pod of the same name apart). Everything else is kept: translation and
// status writes read labels, annotations, spec, status and the other identity fields — except
// for Pods, the largest and most numerous objects, of which translation reads only the labels,
// the service account (endpoint identity) and the pod IPs (AuthorizationPolicy Pod targets).
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

/**
 * The transform for one watched kind: stripped, strings interned, and (given the served
 * apiVersion) apiVersion and kind filled in, so the cached object is the one snapshots hold.
 */
export function transformFor(kind: string, apiVersion?: string): <T extends KubernetesObject>(o: T) => T {
  const strip = kind === 'Pod' ? stripPod : stripUnread;
  const av = apiVersion === undefined ? undefined : intern(apiVersion);
  const k = intern(kind);
  return <T extends KubernetesObject>(o: T): T => {
    const out = internStrings(strip(o));
    return av === undefined ? out : { ...out, apiVersion: av, kind: k };
  };
}
