// What kube-proxy would program, computed purely from Services and EndpointSlices: one DNAT
// rule per ready endpoint of each ClusterIP port (spread with the statistic match, as kube-proxy's
// iptables mode does), the same for each LoadBalancer ingress IP in the Service's status (as
// kube-proxy does, so traffic to the load balancer's address never leaves the node), and the
// hosts-file lines that resolve <svc>.<ns>.svc(.cluster.local).
export interface ServiceLike {
  metadata: { name: string; namespace: string };
  spec: { type?: string; clusterIP?: string; ports?: { name?: string; port: number; protocol?: string; targetPort?: number | string }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** The LoadBalancer ingress IPs in a Service's status (hostnames are not addresses to DNAT). */
export function loadBalancerIps(svc: ServiceLike): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
}

export interface EndpointSliceLike {
  metadata: { labels?: Record<string, string>; namespace: string };
  ports?: { name?: string; port?: number; protocol?: string }[];
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
}

/** iptables arguments (after `-A <chain>`) for the services' ClusterIP ports. */
export function dnatRules(services: ServiceLike[], slices: EndpointSliceLike[]): string[][] {
  const rules: string[][] = [];
  for (const svc of services) {
    const clusterIp = svc.spec.clusterIP;
    if (!clusterIp || clusterIp === 'None') continue;
    const own = slices.filter((s) => s.metadata.namespace === svc.metadata.namespace && s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name);
    for (const port of svc.spec.ports ?? []) {
      const protocol = (port.protocol ?? 'TCP').toLowerCase();
      const targets: string[] = [];
      for (const slice of own) {
        const sp = slice.ports?.find((p) => (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP').toLowerCase() === protocol);
        if (sp?.port === undefined) continue;
        for (const ep of slice.endpoints ?? []) {
          if (ep.conditions?.ready === false) continue;
          for (const a of ep.addresses) targets.push(`${a}:${sp.port}`);
        }
      }
      targets.sort();
      for (const ip of [clusterIp, ...loadBalancerIps(svc)]) {
        targets.forEach((to, i) => {
          const left = targets.length - i;
          const spread = left > 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', (1 / left).toFixed(5)] : [];
          rules.push(['-d', `${ip}/32`, '-p', protocol, '--dport', String(port.port), ...spread, '-j', 'DNAT', '--to-destination', to]);
        });
      }
    }
  }
  return rules;
}

/**
 * iptables arguments (filter table) refusing ClusterIP ports that have no ready endpoint, as
 * kube-proxy does: a client gets "connection refused" at once instead of a SYN sent nowhere
 * (which would hang until the kernel's connect timeout, minutes later).
 */
export function rejectRules(services: ServiceLike[], slices: EndpointSliceLike[]): string[][] {
  const served = new Set(dnatRules(services, slices).map((r) => `${r[1]} ${r[3]} ${r[5]}`));
  const rules: string[][] = [];
  for (const svc of services) {
    const ip = svc.spec.clusterIP;
    if (!ip || ip === 'None') continue;
    for (const port of svc.spec.ports ?? []) {
      const protocol = (port.protocol ?? 'TCP').toLowerCase();
      if (served.has(`${ip}/32 ${protocol} ${port.port}`)) continue;
      rules.push(['-d', `${ip}/32`, '-p', protocol, '--dport', String(port.port), '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable']);
    }
  }
  return rules;
}

/** /etc/hosts lines for every Service with a ClusterIP (headless ones have no single address). */
export function hostsLines(services: ServiceLike[]): string[] {
  return services
    .filter((s) => s.spec.clusterIP && s.spec.clusterIP !== 'None')
    .map((s) => {
      const base = `${s.metadata.name}.${s.metadata.namespace}.svc`;
      return `${s.spec.clusterIP} ${base}.cluster.local ${base}`;
    })
    .sort();
}
