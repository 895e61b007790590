// The kinds the controller watches. Gateway API kinds are optional (CRDs may be absent or an
// older bundle may serve only v1beta1): the first served version in `versions` is used.
// Secrets are not listed: only the ones Gateways reference are watched, one by one.
import { GATEWAY_API_GROUP, GATEWAY_API_X_GROUP } from '../../../api/names.ts';
import { MESHED_POD_LABEL } from '../../../api/pod-annotations.ts';

export interface WatchedResource {
  kind: string;
  group: string;
  /** Preferred first. */
  versions: string[];
  plural: string;
  namespaced: boolean;
  /** May be absent from the cluster (a CRD): logged and retried rather than fatal. */
  optional: boolean;
  /** Only objects with these labels (list and watch): the controller holds nothing else. */
  labelSelector?: string;
}

export const WATCHED_RESOURCES: WatchedResource[] = [
  { kind: 'GatewayClass', group: GATEWAY_API_GROUP, versions: ['v1', 'v1beta1'], plural: 'gatewayclasses', namespaced: false, optional: true },
  { kind: 'Gateway', group: GATEWAY_API_GROUP, versions: ['v1', 'v1beta1'], plural: 'gateways', namespaced: true, optional: true },
  { kind: 'HTTPRoute', group: GATEWAY_API_GROUP, versions: ['v1', 'v1beta1'], plural: 'httproutes', namespaced: true, optional: true },
  { kind: 'GRPCRoute', group: GATEWAY_API_GROUP, versions: ['v1', 'v1alpha2'], plural: 'grpcroutes', namespaced: true, optional: true },
  { kind: 'ReferenceGrant', group: GATEWAY_API_GROUP, versions: ['v1', 'v1beta1'], plural: 'referencegrants', namespaced: true, optional: true },
  { kind: 'XMesh', group: GATEWAY_API_X_GROUP, versions: ['v1alpha1'], plural: 'xmeshes', namespaced: false, optional: true },
  // meshlet's own CRD (charts install it); until it is there, no policy is enforced.
  { kind: 'AuthorizationPolicy', group: 'policy.meshlet.dev', versions: ['v1alpha1'], plural: 'authorizationpolicies', namespaced: true, optional: true },
  { kind: 'Namespace', group: '', versions: ['v1'], plural: 'namespaces', namespaced: false, optional: false },
  { kind: 'Service', group: '', versions: ['v1'], plural: 'services', namespaced: true, optional: false },
  { kind: 'EndpointSlice', group: 'discovery.k8s.io', versions: ['v1'], plural: 'endpointslices', namespaced: true, optional: false },
  // Meshed pods only (the injector's label): their service accounts are the identities mTLS
  // expects of their endpoints; unmeshed pods cost the controller nothing.
  { kind: 'Pod', group: '', versions: ['v1'], plural: 'pods', namespaced: true, optional: false, labelSelector: `${MESHED_POD_LABEL}=meshlet` },
];

export const SECRET_RESOURCE: WatchedResource = { kind: 'Secret', group: '', versions: ['v1'], plural: 'secrets', namespaced: true, optional: false };

/** Read for the `gateway.networking.k8s.io/bundle-version` annotation of the GatewayClass CRD. */
export const CRD_RESOURCE: WatchedResource = { kind: 'CustomResourceDefinition', group: 'apiextensions.k8s.io', versions: ['v1'], plural: 'customresourcedefinitions', namespaced: false, optional: false };
export const GATEWAY_CLASS_CRD = `gatewayclasses.${GATEWAY_API_GROUP}`;
export const BUNDLE_VERSION_ANNOTATION = `${GATEWAY_API_GROUP}/bundle-version`;

export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}
