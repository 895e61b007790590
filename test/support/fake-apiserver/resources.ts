// The resources the fake apiserver serves: a fixed set of built-in kinds plus whatever the
// CustomResourceDefinition objects in its own store declare, so "installing the Gateway API" is
// the same act as on a real cluster: creating CRD objects.
import type { FakeObject } from './store.ts';

export interface ResourceInfo {
  group: string;
  /** Served versions, preferred first. */
  versions: string[];
  kind: string;
  plural: string;
  namespaced: boolean;
  status: boolean;
}

export const BUILTIN_RESOURCES: ResourceInfo[] = [
  { group: '', versions: ['v1'], kind: 'Namespace', plural: 'namespaces', namespaced: false, status: true },
  { group: '', versions: ['v1'], kind: 'Service', plural: 'services', namespaced: true, status: true },
  { group: '', versions: ['v1'], kind: 'Secret', plural: 'secrets', namespaced: true, status: false },
  { group: '', versions: ['v1'], kind: 'Pod', plural: 'pods', namespaced: true, status: true },
  { group: '', versions: ['v1'], kind: 'ConfigMap', plural: 'configmaps', namespaced: true, status: false },
  { group: 'discovery.k8s.io', versions: ['v1'], kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true, status: false },
  { group: 'coordination.k8s.io', versions: ['v1'], kind: 'Lease', plural: 'leases', namespaced: true, status: false },
  { group: 'apiextensions.k8s.io', versions: ['v1'], kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false, status: true },
  // What `meshlet check` reads after an install: the controller Deployment and the webhook.
  { group: 'apps', versions: ['v1'], kind: 'Deployment', plural: 'deployments', namespaced: true, status: true },
  { group: 'admissionregistration.k8s.io', versions: ['v1'], kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations', namespaced: false, status: false },
  // Answered by FakeApiServerOptions.accessReview, never stored (as on a cluster).
  { group: 'authorization.k8s.io', versions: ['v1'], kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false, status: false },
];

export function resourceKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : {};
}

/** What a CRD object declares, or null when it is malformed. */
export function resourceFromCrd(crd: FakeObject): ResourceInfo | null {
  const spec = rec(crd.spec);
  const names = rec(spec.names);
  const versions = (Array.isArray(spec.versions) ? spec.versions : []).map(rec).filter((v) => v.served !== false);
  if (typeof spec.group !== 'string' || typeof names.plural !== 'string' || typeof names.kind !== 'string' || versions.length === 0) return null;
  // Storage version first: that is the preferred version discovery reports.
  versions.sort((a, b) => Number(b.storage === true) - Number(a.storage === true));
  return {
    group: spec.group,
    versions: versions.map((v) => String(v.name)),
    kind: names.kind,
    plural: names.plural,
    namespaced: spec.scope !== 'Cluster',
    status: versions.some((v) => 'status' in rec(v.subresources)),
  };
}

interface CrdSpec { group: string; kind: string; plural: string; scope: 'Namespaced' | 'Cluster'; versions: string[] }

const GATEWAY_API: CrdSpec[] = [
  { group: 'gateway.networking.k8s.io', kind: 'GatewayClass', plural: 'gatewayclasses', scope: 'Cluster', versions: ['v1', 'v1beta1'] },
  { group: 'gateway.networking.k8s.io', kind: 'Gateway', plural: 'gateways', scope: 'Namespaced', versions: ['v1', 'v1beta1'] },
  { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', plural: 'httproutes', scope: 'Namespaced', versions: ['v1', 'v1beta1'] },
  { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', plural: 'grpcroutes', scope: 'Namespaced', versions: ['v1'] },
  { group: 'gateway.networking.k8s.io', kind: 'ReferenceGrant', plural: 'referencegrants', scope: 'Namespaced', versions: ['v1', 'v1beta1'] },
  { group: 'gateway.networking.x-k8s.io', kind: 'XMesh', plural: 'xmeshes', scope: 'Cluster', versions: ['v1alpha1'] },
];

export interface GatewayApiCrdOptions {
  /** `gateway.networking.k8s.io/bundle-version`; null leaves the annotation out. */
  bundleVersion?: string | null;
  /** Drop these kinds (e.g. an older bundle without XMesh or GRPCRoute). */
  omit?: string[];
  /** Serve ReferenceGrant only as v1beta1, as bundles before v1.5 did. */
  referenceGrantV1beta1Only?: boolean;
}

/** CRD objects for the Gateway API kinds meshlet watches (schema-less: the fake does not validate). */
export function gatewayApiCrds(opts: GatewayApiCrdOptions = {}): FakeObject[] {
  const bundle = opts.bundleVersion === undefined ? 'v1.6.0' : opts.bundleVersion;
  return GATEWAY_API.filter((c) => !(opts.omit ?? []).includes(c.kind)).map((c): FakeObject => {
    const versions = c.kind === 'ReferenceGrant' && opts.referenceGrantV1beta1Only ? ['v1beta1'] : c.versions;
    return {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${c.plural}.${c.group}`, annotations: bundle === null ? {} : { 'gateway.networking.k8s.io/bundle-version': bundle } },
      spec: {
        group: c.group,
        names: { kind: c.kind, plural: c.plural, listKind: `${c.kind}List`, singular: c.kind.toLowerCase() },
        scope: c.scope,
        versions: versions.map((v, i) => ({ name: v, served: true, storage: i === 0, subresources: { status: {} } })),
      },
    };
  });
}
