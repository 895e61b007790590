// Who this proxy is, for metric labels and log lines: the workload (Deployment or pod owner)
// rather than the pod, so series survive rollouts. Without an explicit name we strip the
// generated suffixes Kubernetes adds to pod names (ReplicaSet hash + pod hash, or the
// StatefulSet ordinal is kept: a StatefulSet pod name is its own stable identity).
export interface Workload {
  name: string;
  namespace: string;
  pod: string;
  /** The SPIFFE ID this proxy presents, when it has one. */
  principal: string;
}

// Deployment pods: <deploy>-<rs hash 5-10 chars>-<5 chars>; bare ReplicaSet/DaemonSet/Job pods:
// <owner>-<5 chars>. Generated parts use the alphabet "bcdfghjklmnpqrstvwxz2456789".
const DEPLOYMENT = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{5,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/;
const OWNED = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

export function workloadFromPodName(pod: string): string {
  return DEPLOYMENT.exec(pod)?.[1] ?? OWNED.exec(pod)?.[1] ?? pod;
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>` → its namespace, or '' when the ID has another shape. */
export function namespaceOfSpiffeId(id: string): string {
  const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(id);
  return m ? m[1]! : '';
}
