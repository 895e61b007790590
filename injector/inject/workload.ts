// The workload a pod belongs to, for the sidecar's metric labels and trace resource: what
// Istio derives for ISTIO_META_WORKLOAD_NAME (pkg/kube GetDeployMetaFromPod), so dashboards
// adapted from Istio's group the same pods. At admission a controller-made pod has only a
// generateName and an ownerReference; the owner is the workload, except that a ReplicaSet
// made by a Deployment stands for the Deployment (its name is the Deployment's plus
// `-<pod-template-hash>`) and a Job made by a CronJob for the CronJob (`-<8-10 digit
// schedule time>`). A pod with a name of its own (a bare pod, a StatefulSet's `db-0`) is its
// own workload, as in Istio: the agent's fallback from the pod name agrees with that.
import type { Pod } from './types.ts';

/** `meshlet inject -f`: the kind and name of the object whose pod template is injected. */
export interface TemplateOwner {
  kind: string;
  name: string;
}

interface OwnerReference {
  kind?: unknown;
  name?: unknown;
  controller?: unknown;
}

const CRONJOB_JOB = /^(.+)-\d{8,10}$/;

function controllerOf(pod: Pod): { kind: string; name: string } | null {
  const refs = pod.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return null;
  const ref = (refs as OwnerReference[]).find((r) => typeof r === 'object' && r !== null && r.controller === true);
  return ref && typeof ref.kind === 'string' && typeof ref.name === 'string' && ref.name !== '' ? { kind: ref.kind, name: ref.name } : null;
}

function fromOwner(kind: string, name: string, labels: Record<string, string>): string {
  if (kind === 'ReplicaSet') {
    const hash = labels['pod-template-hash'];
    if (hash && name.endsWith(`-${hash}`)) return name.slice(0, -hash.length - 1);
  }
  if (kind === 'Job') return CRONJOB_JOB.exec(name)?.[1] ?? name;
  return name;
}

/**
 * The pod's workload name, or null when nothing names it (then the agent derives one from the
 * pod name it is started with). `template` is given when a workload's pod template is injected
 * from a manifest: the pod itself does not exist yet.
 */
export function workloadOf(pod: Pod, template?: TemplateOwner): string | null {
  if (template) {
    // Each StatefulSet pod is named (`db-0`) and is its own workload, as at admission.
    if (template.kind === 'StatefulSet' || template.name === '') return null;
    return template.name;
  }
  const meta = pod.metadata ?? {};
  const labels = meta.labels ?? {};
  const owner = controllerOf(pod);
  if (meta.generateName && owner) return fromOwner(owner.kind, owner.name, labels);
  // A StatefulSet's pod: the agent names it from its pod name, as `meshlet inject` leaves it to.
  if (owner?.kind === 'StatefulSet') return null;
  return meta.name ? meta.name : null;
}
