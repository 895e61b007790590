// Names, ports, labels and identities that processes agree on (DESIGN.md "Contracts").
// Changing a value here is a breaking change for deployed meshes.

export const GATEWAY_CONTROLLER_NAME = 'meshlet.dev/gateway-controller';
export const MESH_CONTROLLER_NAME = 'meshlet.dev/mesh-controller';
export const DEFAULT_GATEWAY_CLASS = 'meshlet';
export const DEFAULT_MESH_NAME = 'meshlet';

export const INJECT_LABEL = 'meshlet.dev/inject';
export const INJECT_LABEL_ENABLED = 'enabled';
export const ANNOTATION_PREFIX = 'meshlet.dev/';

export const PORTS = {
  outbound: 15001,
  inbound: 15006,
  admin: 15020,
  controller: 15012,
  /** The controller's admin port: /live, /ready, /metrics. The agent's admin number: the two never share a pod. */
  controllerAdmin: 15020,
  webhook: 15017,
} as const;

export const AGENT_UID = 1337;
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_API_X_GROUP = 'gateway.networking.x-k8s.io';

/** `spiffe://<trust-domain>/ns/<ns>/sa/<serviceaccount>` */
export function spiffeId(namespace: string, serviceAccount: string, trustDomain: string = DEFAULT_TRUST_DOMAIN): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}
