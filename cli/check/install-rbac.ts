// Can the current user install the chart? One SelfSubjectAccessReview per kind the chart
// creates (as `istioctl x precheck` does), so a missing permission is named before a half-done
// `helm install` rather than after.
import type { Check } from './result.ts';

interface Needed { group: string; resource: string; namespaced: boolean }

/** What charts/meshlet creates: its CRDs and cluster-wide objects, then its namespace's. */
export const INSTALL_NEEDS: readonly Needed[] = [
  { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', namespaced: false },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespaced: false },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespaced: false },
  { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', namespaced: false },
  { group: '', resource: 'namespaces', namespaced: false },
  { group: 'rbac.authorization.k8s.io', resource: 'roles', namespaced: true },
  { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespaced: true },
  { group: '', resource: 'serviceaccounts', namespaced: true },
  { group: '', resource: 'services', namespaced: true },
  { group: '', resource: 'configmaps', namespaced: true },
  { group: 'apps', resource: 'deployments', namespaced: true },
  { group: 'policy', resource: 'poddisruptionbudgets', namespaced: true },
];

interface Review { status?: { allowed?: boolean } }

export const installRbacCheck: Check = {
  name: 'permission to install',
  async run({ client, namespace }) {
    const denied: string[] = [];
    for (const n of INSTALL_NEEDS) {
      const review = await client.create<Review>('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: 'create', group: n.group, resource: n.resource, ...(n.namespaced ? { namespace } : {}) } },
      });
      if (review.status?.allowed !== true) denied.push(n.group ? `${n.resource}.${n.group}` : n.resource);
    }
    return denied.length === 0
      ? { ok: true, detail: `may create every kind the chart installs (${INSTALL_NEEDS.length})` }
      : { ok: false, detail: `may not create ${denied.join(', ')}`, hint: 'install as a cluster admin (the chart creates cluster-wide RBAC, a webhook and CRDs)' };
  },
};
