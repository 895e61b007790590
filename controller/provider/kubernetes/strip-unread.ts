// The informer transform: drops what translation never reads before an object is cached, so
// the controller holds each object once and small. managedFields (server-side apply bookkeeping)
// is often larger than the spec itself, and kubectl's last-applied-configuration annotation is a
// second full copy of the object as JSON. Everything else is kept: translation and status
// writes read labels, annotations, spec, status and the identity fields — except for Pods, the
// largest and most numerous objects, of which translation reads only the labels, the service
// account (endpoint identity) and the pod IPs (AuthorizationPolicy Pod targets).
import type { KubernetesObject } from '@kubernetes/client-node';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function stripUnread<T extends KubernetesObject>(o: T): T {
  const m = o.metadata;
  if (!m || (m.managedFields === undefined && m.annotations?.[LAST_APPLIED] === undefined)) return o;
  const { managedFields: _dropped, ...metadata } = m;
  if (metadata.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _copy, ...annotations } = metadata.annotations;
    metadata.annotations = annotations;
  }
  return { ...o, metadata };
}

/** A Pod reduced to what translation reads (see above), metadata stripped as for any object. */
export function stripPod<T extends KubernetesObject>(o: T): T {
  const pod = stripUnread(o) as T & { spec?: { serviceAccountName?: unknown }; status?: { podIP?: unknown; podIPs?: unknown } };
  const spec = pod.spec?.serviceAccountName === undefined ? {} : { serviceAccountName: pod.spec.serviceAccountName };
  const status: Record<string, unknown> = {};
  if (pod.status?.podIP !== undefined) status.podIP = pod.status.podIP;
  if (pod.status?.podIPs !== undefined) status.podIPs = pod.status.podIPs;
  return { ...pod, spec, status };
}

/** The transform for one watched kind. */
export function transformFor(kind: string): <T extends KubernetesObject>(o: T) => T {
  return kind === 'Pod' ? stripPod : stripUnread;
}
