// Is the injection webhook reached by the API server? A caBundle and a ready controller do not
// prove it (a NetworkPolicy or a private cluster's firewall can still block 15017): create a
// Pod in an injected namespace as a dry run, which calls the webhook (it declares no side
// effects) but stores nothing, and look for the proxy container it should have added.
import { CONTAINER_NAMES } from '../../api/pod-env.ts';
import { INJECT_LABEL, INJECT_LABEL_ENABLED, PORTS } from '../../api/names.ts';
import type { Check } from './result.ts';

interface Pod { spec?: { containers?: { name: string }[]; initContainers?: { name: string }[] } }

export const webhookReachableCheck: Check = {
  name: 'injection webhook reachable',
  async run({ client, namespace }) {
    const list = await client.list<{ metadata: { name: string } }>('/api/v1/namespaces', { labelSelector: `${INJECT_LABEL}=${INJECT_LABEL_ENABLED}` });
    const ns = list.items.map((n) => n.metadata.name).sort()[0];
    if (ns === undefined) return { ok: true, detail: `no namespace labelled ${INJECT_LABEL}=${INJECT_LABEL_ENABLED} to try it in` };
    const probe = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'meshlet-check-probe', namespace: ns }, spec: { containers: [{ name: 'probe', image: 'registry.k8s.io/pause:3.10' }] } };
    let pod: Pod;
    try {
      pod = await client.request<Pod>('POST', `/api/v1/namespaces/${ns}/pods`, { query: { dryRun: 'All' }, body: probe });
    } catch (err) {
      return { ok: false, detail: `a dry-run Pod in ${ns} was refused: ${(err as Error).message}`, hint: `the API server cannot call meshlet-controller.${namespace}:${PORTS.webhook} (NetworkPolicy, firewall to the nodes, or the controller not ready)` };
    }
    const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
    return names.includes(CONTAINER_NAMES.proxy)
      ? { ok: true, detail: `a dry-run Pod in ${ns} was injected` }
      : { ok: false, detail: `a dry-run Pod in ${ns} came back without ${CONTAINER_NAMES.proxy}`, hint: `webhook.failurePolicy=Ignore hides an unreachable webhook: kubectl -n ${namespace} logs deploy/meshlet-controller` };
  },
};
