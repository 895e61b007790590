// Every injected pod's proxy, asked through the API server's pod proxy: it answers /ready on
// the admin port (15020) with 200, i.e. it reached the controller, a routing table is in force
// and it is not draining; and, when it holds a mesh identity, its certificate has time left
// (meshlet_workload_certificate_expiry_seconds on its /metrics: 0 means none yet, or expired;
// a proxy without the gauge runs without mesh certificates and is not judged on them). Pods
// not Running yet are left out (their proxy may still be starting).
import { CONTAINER_NAMES } from '../../api/pod-env.ts';
import { INJECT_LABEL, INJECT_LABEL_ENABLED, PORTS } from '../../api/names.ts';
import { gaugeValue } from './agents.ts';
import { rawGet } from './raw-get.ts';
import type { Check } from './result.ts';

interface Pod { metadata: { name: string; namespace: string }; spec?: { containers?: { name: string }[]; initContainers?: { name: string }[] }; status?: { phase?: string } }

/** Failures listed by name before "and N more": a broken mesh must not print thousands of lines. */
const SHOWN = 5;
const CERT_GAUGE = 'meshlet_workload_certificate_expiry_seconds';

export const proxiesCheck: Check = {
  name: 'injected proxies ready',
  async run({ client }) {
    const namespaces = await client.list<{ metadata: { name: string } }>('/api/v1/namespaces', { labelSelector: `${INJECT_LABEL}=${INJECT_LABEL_ENABLED}` });
    const failed: string[] = [];
    const versions = new Set<string>();
    let ready = 0;
    let certified = 0;
    for (const ns of namespaces.items.map((n) => n.metadata.name).sort()) {
      const pods = await client.list<Pod>(`/api/v1/namespaces/${ns}/pods`);
      for (const pod of pods.items) {
        const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
        if (!names.includes(CONTAINER_NAMES.proxy) || pod.status?.phase !== 'Running') continue;
        const r = await rawGet(client, `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}:${PORTS.admin}/proxy/ready`);
        let version: unknown;
        try {
          version = (JSON.parse(r.text) as { version?: unknown }).version;
        } catch {
          version = undefined;
        }
        if (r.status !== 200 || typeof version !== 'string') {
          failed.push(`${ns}/${pod.metadata.name} (${r.status})`);
          continue;
        }
        const m = await rawGet(client, `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}:${PORTS.admin}/proxy/metrics`);
        const certSeconds = m.status === 200 ? gaugeValue(m.text, CERT_GAUGE) : undefined;
        if (certSeconds === 0) {
          failed.push(`${ns}/${pod.metadata.name} (no valid certificate)`);
          continue;
        }
        if (certSeconds !== undefined) certified++;
        ready++;
        versions.add(version);
      }
    }
    if (failed.length > 0) {
      const shown = failed.slice(0, SHOWN).join(', ') + (failed.length > SHOWN ? ` and ${failed.length - SHOWN} more` : '');
      return { ok: false, detail: `not ready: ${shown}`, hint: `kubectl logs <pod> -c ${CONTAINER_NAMES.proxy}; a 503 means no routing table from the controller yet (or draining); no valid certificate means its CSRs fail (the controller's CA, its ServiceAccount token)` };
    }
    return { ok: true, detail: ready === 0 ? 'no injected pod running yet' : `${ready} proxy(ies) ready, ${versions.size} table version(s) in force, ${certified} with a valid certificate` };
  },
};
