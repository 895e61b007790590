// Turns what a user types (`--gateway ns/name` or `--from ns` plus a URL) into the matcher's
// RouteTarget, the way the data plane would see it: a listener port on a Gateway, or the
// ClusterIP:port a sidecar intercepts when the app calls a Service by name.
import type { RoutingTable } from '../api/routing-table.ts';
import type { RouteTarget } from '../agent/route/types.ts';
import { UsageError } from './usage-error.ts';

export function resolveGatewayTarget(table: RoutingTable, gateway: string, url: URL): RouteTarget {
  const m = /^([^/]+)\/([^/]+)$/.exec(gateway);
  if (!m) throw new UsageError(`--gateway wants NAMESPACE/NAME, got '${gateway}'`);
  const name = `gateway/${m[1]}/${m[2]}`;
  const gw = table.gateways.find((g) => g.name === name);
  if (!gw) throw new UsageError(`no programmed Gateway ${m[1]}/${m[2]} of meshlet's class in the input`);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  if (!gw.ports.some((p) => p.port === port)) {
    throw new UsageError(`Gateway ${m[1]}/${m[2]} has no listener on port ${port} (ports: ${gw.ports.map((p) => p.port).join(', ') || 'none'})`);
  }
  return { kind: 'gateway', gateway: name, port };
}

/** Host forms a pod can use for a Service: name (own namespace), name.ns, name.ns.svc[.cluster.local], or the ClusterIP. */
export function resolveMeshTarget(table: RoutingTable, clientNamespace: string, url: URL): RouteTarget {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port ? Number(url.port) : 80;
  const labels = host.split('.');
  const svc = table.services.find((s) => {
    if (s.clusterIPs.includes(host)) return true;
    const [name, ns = clientNamespace, ...rest] = labels;
    const suffix = rest.join('.');
    return name === s.serviceName && ns === s.namespace && (suffix === '' || suffix === 'svc' || suffix === 'svc.cluster.local');
  });
  if (!svc) throw new UsageError(`'${host}' is not a Service with a ClusterIP in the input (as seen from namespace ${clientNamespace})`);
  const address = svc.clusterIPs[0];
  if (address === undefined) throw new UsageError(`Service ${svc.namespace}/${svc.serviceName} has no ClusterIP`);
  if (!svc.ports.some((p) => p.port === port)) {
    throw new UsageError(`Service ${svc.namespace}/${svc.serviceName} has no port ${port} (ports: ${svc.ports.map((p) => p.port).join(', ')})`);
  }
  return { kind: 'mesh', address, port, clientNamespace };
}
