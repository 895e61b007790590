// The Gateway API conformance features meshlet claims (names from the spec's pkg/features).
// Published in GatewayClass and XMesh status; a feature is listed only when translation and the
// data plane both implement it, so conformance runs select exactly the tests we should pass.
import { compareStrings } from './util.ts';

const CLAIMED = [
  // Gateway (north-south)
  'Gateway', 'GatewayHTTPListenerIsolation', 'GatewayHTTPSListenerDetectMisdirectedRequests', 'GatewayPort8080',
  'ReferenceGrant',
  // HTTPRoute
  'HTTPRoute', 'HTTPRoute303RedirectStatusCode', 'HTTPRoute307RedirectStatusCode', 'HTTPRoute308RedirectStatusCode',
  'HTTPRouteBackendProtocolH2C', 'HTTPRouteBackendProtocolWebSocket', 'HTTPRouteBackendRequestHeaderModification',
  'HTTPRouteBackendTimeout', 'HTTPRouteHostRewrite', 'HTTPRouteMethodMatching', 'HTTPRouteNamedRouteRule',
  'HTTPRouteParentRefPort', 'HTTPRoutePathRedirect', 'HTTPRoutePathRewrite', 'HTTPRoutePortRedirect',
  'HTTPRouteQueryParamMatching', 'HTTPRouteRequestMirror', 'HTTPRouteRequestMultipleMirrors',
  'HTTPRouteRequestPercentageMirror', 'HTTPRouteRequestTimeout', 'HTTPRouteResponseHeaderModification',
  'HTTPRouteSchemeRedirect',
  // GRPCRoute
  'GRPCRoute',
  // Mesh (GAMMA)
  'Mesh', 'MeshClusterIPMatching', 'MeshConsumerRoute', 'MeshHTTPRouteBackendRequestHeaderModification',
  'MeshHTTPRouteNamedRouteRule', 'MeshHTTPRouteQueryParamMatching', 'MeshHTTPRouteRedirectPath',
  'MeshHTTPRouteRedirectPort', 'MeshHTTPRouteRewritePath', 'MeshHTTPRouteSchemeRedirect',
];

/** Sorted ascending (the spec requires it for status.supportedFeatures). */
export const SUPPORTED_FEATURES: readonly string[] = Object.freeze([...new Set(CLAIMED)].sort(compareStrings));

/** The v1.6 status shape: a list of {name}. */
export function supportedFeaturesStatus(): { name: string }[] {
  return SUPPORTED_FEATURES.map((name) => ({ name }));
}

/** For XMesh: the route and mesh features; Gateway-only ones (listeners, grants) do not apply. */
export function meshFeaturesStatus(): { name: string }[] {
  return SUPPORTED_FEATURES.filter((n) => !n.startsWith('Gateway') && n !== 'ReferenceGrant').map((name) => ({ name }));
}
