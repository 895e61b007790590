// `meshlet explain --from NS` for an address that is no Service of the input: what a sidecar does
// with a connection the app makes to it. No route applies; what matters is whether the address
// lies inside the cluster networks (then a sidecar with a controller asks about it first, and
// refuses it while no answer comes) or outside (straight through, never asked).
import net from 'node:net';
import type { RoutingTable } from '../api/routing-table.ts';
import type { ClusterNetworks } from '../agent/outbound/cluster-networks.ts';

/** null when the URL's host is a Service (by name or ClusterIP) or not an IP address. */
export function explainOutbound(table: RoutingTable, method: string, url: URL, clientNamespace: string, networks: ClusterNetworks): string[] | null {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (net.isIP(host) === 0 || table.services.some((s) => s.clusterIPs.includes(host))) return null;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const where = `${net.isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const ranges = networks.cidrs.join(',');
  const head = `request:  ${method} ${url.href}  (to ${where} from namespace ${clientNamespace}: not a Service in the input)`;
  if (!networks.contains(host)) {
    return [head, `outbound: outside the cluster networks (${ranges}): passthrough to ${where} in plaintext at once, never asked about (it cannot be a mesh Service)`];
  }
  return [
    head,
    `outbound: inside the cluster networks (${ranges}): with --controller the sidecar first asks the controller about ${where};`,
    `          answered "not a Service": passthrough in plaintext; no answer within 3 s: refused (503, TCP closed), never sent unasked`,
    '          (file mode: passthrough, the manifests are the whole truth)',
  ];
}
