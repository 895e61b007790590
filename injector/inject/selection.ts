// Whether a pod gets the mesh at all. The MutatingWebhookConfiguration's selectors keep the API
// server from calling us for most pods that must not be injected; this re-checks on our side
// (selectors can be edited, `meshlet inject` has none) and says why a pod is left alone. Users
// see the reason as an admission warning, except for an explicit opt-out they asked for.
import { INJECT_LABEL, INJECT_LABEL_ENABLED } from '../../api/names.ts';
import { INJECT_OPT_IN_VALUES, INJECT_OPT_OUT_VALUES, POD_ANNOTATIONS } from '../../api/pod-annotations.ts';
import type { MeshConfig } from './mesh-config.ts';
import type { Pod } from './types.ts';

export interface NamespaceInfo {
  name: string;
  /** The namespace's labels when known (the webhook); undefined: not checked (`meshlet inject`). */
  labels?: Record<string, string>;
  /** The namespace's annotations when known: `meshlet.dev/mtls-mode` and
   * `meshlet.dev/default-inbound-policy` there are the defaults for its pods. */
  annotations?: Record<string, string>;
}

export interface Skip {
  reason: string;
  /** Shown to the user as an admission warning (not for an explicit opt-out). */
  warn: boolean;
}

const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];
/** Containers that mean another mesh already proxies this pod: two proxies would fight over iptables. */
const OTHER_MESH_CONTAINERS = ['istio-proxy', 'istio-init', 'istio-validation', 'linkerd-proxy', 'linkerd-init', 'linkerd-network-validator', 'kuma-sidecar', 'kuma-init'];

const isIn = (v: string | undefined, list: readonly string[]): boolean => v !== undefined && list.includes(v);

export function skipReason(pod: Pod, ns: NamespaceInfo, mesh: MeshConfig): Skip | null {
  if (SYSTEM_NAMESPACES.includes(ns.name) || ns.name === mesh.meshletNamespace || mesh.ignoredNamespaces.includes(ns.name)) {
    return { reason: `namespace ${ns.name} is never injected`, warn: true };
  }
  if (ns.labels !== undefined && ns.labels[INJECT_LABEL] !== INJECT_LABEL_ENABLED) {
    return { reason: `namespace ${ns.name} is not labelled ${INJECT_LABEL}=${INJECT_LABEL_ENABLED}`, warn: true };
  }
  const label = pod.metadata?.labels?.[INJECT_LABEL];
  const annotation = pod.metadata?.annotations?.[POD_ANNOTATIONS.inject];
  // The label wins over the annotation, as with Istio: it is what the objectSelector sees.
  if (isIn(label, INJECT_OPT_OUT_VALUES)) return { reason: `pod label ${INJECT_LABEL}=${label}`, warn: false };
  if (!isIn(label, INJECT_OPT_IN_VALUES) && isIn(annotation, INJECT_OPT_OUT_VALUES)) {
    return { reason: `pod annotation ${POD_ANNOTATIONS.inject}=${annotation}`, warn: false };
  }
  if (pod.spec.hostNetwork === true) {
    return { reason: 'hostNetwork pods share the node\'s network namespace: intercepting it would redirect the node\'s traffic', warn: true };
  }
  const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
  const other = names.find((n) => OTHER_MESH_CONTAINERS.includes(n));
  if (other !== undefined) return { reason: `the pod already has another mesh's container ${other}`, warn: true };
  return null;
}
