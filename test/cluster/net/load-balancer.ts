// The box's load balancer, in the role a cloud provider's (or MetalLB's, or kind's
// cloud-provider-kind) plays: every Service of type LoadBalancer gets an address from the run's
// own /24 in status.loadBalancer.ingress, which is what the ingress's Gateway addresses come
// from. The service proxy programs those addresses like ClusterIPs (service-rules.ts), so the
// node and the pods reach a LoadBalancer Service at its external address.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BoxApi } from '../box/index.ts';
import { loadBalancerIps, type ServiceLike } from './service-rules.ts';

export interface LoadBalancer {
  stop(): Promise<void>;
}

/**
 * The Services that need an address and the one each gets: the lowest free host address of
 * prefix (.1 to .254), in the Services' list order; those with an address keep it.
 */
export function assignLoadBalancerIps(services: ServiceLike[], prefix: string): { namespace: string; name: string; ip: string }[] {
  const used = new Set(services.flatMap(loadBalancerIps));
  const out: { namespace: string; name: string; ip: string }[] = [];
  let next = 1;
  for (const svc of services) {
    if (svc.spec.type !== 'LoadBalancer' || loadBalancerIps(svc).length > 0) continue;
    while (next <= 254 && used.has(`${prefix}.${next}`)) next++;
    if (next > 254) break;
    const ip = `${prefix}.${next++}`;
    out.push({ namespace: svc.metadata.namespace, name: svc.metadata.name, ip });
  }
  return out;
}

/** Polls Services (as `api`, which may write services/status) and assigns addresses. */
export function startLoadBalancer(api: BoxApi, prefix: string, intervalMs = 300): LoadBalancer {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await api.get('/api/v1/services');
        if (res.status === 200) {
          for (const a of assignLoadBalancerIps((res.body as { items: ServiceLike[] }).items, prefix)) {
            await api.request('PATCH', `/api/v1/namespaces/${a.namespace}/services/${a.name}/status`, { status: { loadBalancer: { ingress: [{ ip: a.ip, ipMode: 'VIP' }] } } }, { contentType: 'application/merge-patch+json' });
          }
        }
      } catch {
        // the API server may be restarting: try again next round
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
