// The informer transform: drops what translation never reads before an object is cached, so
// the controller holds each object once and small. managedFields (server-side apply bookkeeping)
// is often larger than the spec itself, and kubectl's last-applied-configuration annotation is a
// second full copy of the object as JSON. Everything else is kept: translation and status
// writes read labels, annotations, spec, status and the identity fields.
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
