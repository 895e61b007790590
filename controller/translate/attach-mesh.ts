// Route → Service attachment (GAMMA, GEP-1426). A parentRef with group "" and kind Service
// attaches the route to that Service's ports: the given port, the port named by sectionName,
// or every port when neither is set. Only Services with a ClusterIP are frontends (headless
// ones have no address to intercept). A route in the Service's namespace is a producer route
// (all callers); one from another namespace is a consumer route (callers in its namespace).
// Hostnames on mesh routes are ignored: GEP-1426 says GAMMA implementations SHOULD NOT infer
// anything from them, and MeshFrontendHostname checks routing keys on ClusterIP, not Host.
import { servicePorts, type ServicePort } from './endpoints.ts';
import type { CondState } from './listeners.ts';
import type { Lookup } from './lookup.ts';
import type { CompiledRoute } from './rules.ts';
import type { KubeObject } from './snapshot.ts';
import { int, list, specOf, str, type Rec } from './util.ts';

export interface MeshParentResult {
  parentRef: Rec;
  attach: CondState;
  service: KubeObject | null;
  serviceKey: string;
  ports: ServicePort[];
  /** null for producer routes; the route's namespace for consumer routes. */
  consumerNamespace: string | null;
}

/**
 * Core Services only: group "" (the API server defaults an omitted group to the Gateway API
 * group, so in a cluster an omitted group never reaches us; in --config files nothing fills the
 * default, and `kind: Service` without a group can only mean the core Service).
 */
export function isMeshParentRef(ref: Rec): boolean {
  return (ref.group === '' || ref.group === undefined) && str(ref.kind) === 'Service';
}

/** The Service's ClusterIPs, or [] for headless/ExternalName Services. */
export function clusterIPs(svc: KubeObject): string[] {
  const spec = specOf(svc);
  if (str(spec.type) === 'ExternalName') return [];
  const ips = list(spec.clusterIPs).filter((v): v is string => typeof v === 'string' && v !== '' && v !== 'None');
  const single = str(spec.clusterIP);
  if (ips.length === 0 && single && single !== 'None') ips.push(single);
  return ips;
}

export function attachToService(route: CompiledRoute, ref: Rec, lookup: Lookup): MeshParentResult {
  const namespace = str(ref.namespace) ?? route.meta.namespace;
  const name = str(ref.name) ?? '';
  const svc = lookup.service(namespace, name) ?? null;
  const result: MeshParentResult = {
    parentRef: ref, attach: { status: true, reason: 'Accepted', message: 'Route is accepted' }, service: svc,
    serviceKey: `${namespace}/${name}`, ports: [], consumerNamespace: namespace === route.meta.namespace ? null : route.meta.namespace,
  };
  const fail = (message: string) => {
    result.attach = { status: false, reason: 'NoMatchingParent', message };
    return result;
  };
  if (!svc) return fail(`Service ${namespace}/${name} not found`);
  if (clusterIPs(svc).length === 0) return fail(`Service ${namespace}/${name} has no ClusterIP (headless or ExternalName Services cannot be mesh parents)`);
  let ports = servicePorts(svc);
  const port = int(ref.port);
  const section = str(ref.sectionName);
  if (port !== undefined) ports = ports.filter((p) => p.port === port);
  if (section !== undefined) ports = ports.filter((p) => p.name === section);
  if (ports.length === 0) {
    return fail(`Service ${namespace}/${name} has no TCP port matching${port !== undefined ? ` port ${port}` : ''}${section !== undefined ? ` name ${section}` : ''}`);
  }
  result.ports = ports;
  return result;
}
