// Explicit outbound mode (`meshlet dev`, no iptables): the app addresses the sidecar directly,
// as an HTTP proxy (absolute-form request) or by putting a Service name or ClusterIP in the
// Host header. This resolves that authority to the Service's ClusterIP:port, so routing still
// keys on ClusterIP:port exactly as with transparent interception.
import type { RoutingTable, ServiceFrontendIR } from '../../api/routing-table.ts';

const indexes = new WeakMap<RoutingTable, Map<string, ServiceFrontendIR>>();

function index(table: RoutingTable): Map<string, ServiceFrontendIR> {
  let m = indexes.get(table);
  if (!m) {
    m = new Map();
    for (const s of table.services) m.set(`${s.serviceName}.${s.namespace}`, s);
    indexes.set(table, m);
  }
  return m;
}

/** `host[:port]` split, IPv6 brackets removed; port defaults to 80. Null if unparsable. */
export function splitAuthority(authority: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*))(?::(\d{1,5}))?$/.exec(authority.trim());
  if (!m) return null;
  const host = (m[1] ?? m[2] ?? '').toLowerCase().replace(/\.$/, '');
  const port = m[3] ? Number(m[3]) : 80;
  if (!host || port < 1 || port > 65535) return null;
  return { host, port };
}

export type ExplicitTarget =
  | { kind: 'address'; address: string; port: number }
  | { kind: 'unknown'; reason: string };

/**
 * `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<cluster-domain>` (with `:port`) or an IP.
 * A bare name is looked up in `namespace`, the caller's, as Kubernetes DNS search paths do.
 */
export function resolveExplicit(table: RoutingTable, authority: string, namespace: string): ExplicitTarget {
  const a = splitAuthority(authority);
  if (!a) return { kind: 'unknown', reason: `cannot parse authority '${authority}'` };
  if (/^[0-9.]+$/.test(a.host) || a.host.includes(':')) return { kind: 'address', address: a.host, port: a.port };
  const labels = a.host.split('.');
  let key: string | null = null;
  if (labels.length === 1) key = `${labels[0]}.${namespace}`;
  else if (labels.length === 2 || labels[2] === 'svc') key = `${labels[0]}.${labels[1]}`;
  const svc = key ? index(table).get(key) : undefined;
  if (!svc) return { kind: 'unknown', reason: `no Service '${a.host}' in the mesh` };
  const ip = svc.clusterIPs[0];
  if (!ip) return { kind: 'unknown', reason: `Service '${a.host}' has no ClusterIP` };
  if (!svc.ports.some((p) => p.port === a.port)) return { kind: 'unknown', reason: `Service '${a.host}' has no port ${a.port}` };
  return { kind: 'address', address: ip, port: a.port };
}
