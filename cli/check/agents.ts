// Agents connected to the controller, summed over its replicas' /metrics read through the
// apiserver's pod proxy (every replica serves agents; a Service would reach only one). A
// replica whose metrics cannot be read fails the check: agents routed to it are unaccounted.
import { PORTS } from '../../api/names.ts';
import { rawGet } from './raw-get.ts';
import type { Check } from './result.ts';

const METRIC = 'meshlet_publisher_agents';

/** The value of an unlabelled gauge in Prometheus text, or undefined. */
export function gaugeValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  const v = line === undefined ? NaN : Number(line.slice(name.length + 1).trim());
  return Number.isFinite(v) ? v : undefined;
}

export const agentsCheck: Check = {
  name: 'agents connected',
  async run({ client, namespace }) {
    const pods = await client.list<{ metadata: { name: string }; status?: { phase?: string } }>(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: 'app.kubernetes.io/component=controller' });
    const running = pods.items.filter((p) => p.status?.phase === 'Running').map((p) => p.metadata.name).sort();
    if (running.length === 0) return { ok: false, detail: 'no running controller pod', hint: `kubectl -n ${namespace} get pods -l app.kubernetes.io/component=controller` };
    let total = 0;
    const unreadable: string[] = [];
    for (const pod of running) {
      const r = await rawGet(client, `/api/v1/namespaces/${namespace}/pods/${pod}:${PORTS.controllerAdmin}/proxy/metrics`);
      const v = r.status === 200 ? gaugeValue(r.text, METRIC) : undefined;
      if (v === undefined) unreadable.push(`${pod} (${r.status})`);
      else total += v;
    }
    if (unreadable.length > 0) return { ok: false, detail: `cannot read ${METRIC} from ${unreadable.join(', ')}`, hint: `is the admin port ${PORTS.controllerAdmin} up? kubectl logs on that pod` };
    return { ok: true, detail: `${total} agent(s) across ${running.length} controller replica(s)` };
  },
};
