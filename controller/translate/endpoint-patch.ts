// The endpoint fast path (the EDS idea): when the only objects that changed since the last
// translation are EndpointSlices and Pods, nothing about routes, listeners, attachment or route
// statuses can have changed: those read Services, Namespaces, Gateways, routes and grants, never
// endpoints. Only two parts of the result read endpoints: each backend's endpoint list and the
// AuthorizationPolicies' resolved endpoints. So the previous result is patched: the backends of
// the Services whose slices changed get fresh endpoints (all backends when Pods changed, since a
// Pod gives endpoints their identity), policies are re-resolved, and the version recomputed.
// Unchanged backends keep their object, so slices built from them stay shared. The result is
// byte-for-byte what translate() would return (endpoint-patch.test.ts checks it over random edits).
import type { BackendIR, RoutingTable } from '../../api/routing-table.ts';
import { withVersion } from '../../api/version.ts';
import { endpointsFor, servicePorts } from './endpoints.ts';
import { Lookup } from './lookup.ts';
import { translatePolicies } from './policies.ts';
import type { KubeObject, Snapshot, TranslateResult } from './snapshot.ts';
import { compareStatuses } from './status-order.ts';
import { namespaceOf, nsName, str } from './util.ts';

type Field = keyof Snapshot;
const ENDPOINT_FIELDS = new Set<Field>(['endpointSlices', 'pods']);

/**
 * Kinds meshlet writes status to. Their status is read only to carry over condition times and
 * other controllers' entries, which the status writer re-merges from the object it writes to;
 * a status-only update of these (mostly our own write coming back) is not a change here, as the
 * informer already does not re-translate for one (resource-informer.ts, STATUS_WRITTEN_KINDS).
 */
const STATUS_WRITTEN_FIELDS = new Set<Field>(['gatewayClasses', 'gateways', 'httpRoutes', 'grpcRoutes', 'meshes']);

function withoutStatus(o: KubeObject): string {
  const { status: _s, metadata, ...rest } = o as KubeObject & { status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata as KubeObject['metadata'] & { managedFields?: unknown };
  return JSON.stringify([meta, rest]);
}

function sameList(a: unknown, b: unknown, statusOnlyIsSame = false): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((x, i) => x === b[i] || (statusOnlyIsSame && withoutStatus(x as KubeObject) === withoutStatus(b[i] as KubeObject)));
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What changed between two snapshots, if only endpoints did: the Service keys (`ns/name`) whose
 * slices changed and whether any Pod did; null when anything else changed. Objects are compared
 * by identity, so the provider must hand out the same object while it is unchanged.
 */
export function endpointOnlyChange(prev: Snapshot, next: Snapshot): { services: Set<string>; pods: boolean } | null {
  const fields = new Set([...Object.keys(prev), ...Object.keys(next)] as Field[]);
  for (const f of fields) {
    if (ENDPOINT_FIELDS.has(f)) continue;
    const a = prev[f];
    const b = next[f];
    if (Array.isArray(a) || Array.isArray(b) ? !sameList(a, b, STATUS_WRITTEN_FIELDS.has(f)) : !sameValue(a, b)) return null;
  }
  const pods = !sameList(prev.pods, next.pods);
  const services = new Set<string>();
  if (!sameList(prev.endpointSlices, next.endpointSlices)) {
    const before = new Set(prev.endpointSlices);
    const after = new Set(next.endpointSlices);
    const owner = (es: KubeObject): string | null => {
      const svc = str(es.metadata?.labels?.['kubernetes.io/service-name']);
      return svc ? nsName(namespaceOf(es), svc) : null;
    };
    for (const es of prev.endpointSlices) if (!after.has(es)) services.add(owner(es) ?? '');
    for (const es of next.endpointSlices) if (!before.has(es)) services.add(owner(es) ?? '');
    services.delete('');
  }
  return { services, pods };
}

function sameEndpoints(a: BackendIR['endpoints'], b: BackendIR['endpoints']): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

/** The previous result with endpoints and policies recomputed from `snapshot` (see above). */
export function patchEndpoints(prev: TranslateResult, snapshot: Snapshot, change: { services: Set<string>; pods: boolean }): TranslateResult {
  const lookup = new Lookup(snapshot);
  let changed = false;
  const backends = prev.ir.backends.map((b) => {
    if (!change.pods && !change.services.has(nsName(b.namespace, b.serviceName))) return b;
    const svc = lookup.service(b.namespace, b.serviceName);
    const port = svc ? servicePorts(svc).find((p) => p.port === b.port) : undefined;
    const endpoints = svc && port ? endpointsFor(lookup, svc, port) : [];
    if (sameEndpoints(endpoints, b.endpoints)) return b;
    changed = true;
    return { ...b, endpoints };
  });
  const policies = translatePolicies(snapshot.authorizationPolicies, lookup);
  const policiesChanged = JSON.stringify(policies.ir) !== JSON.stringify(prev.ir.policies);
  const statuses = [...prev.statuses.filter((s) => s.kind !== 'AuthorizationPolicy'), ...policies.statuses].sort(compareStatuses);
  if (!changed && !policiesChanged) return { statuses, ir: prev.ir };
  const { version: _old, ...rest } = prev.ir;
  const ir: RoutingTable = withVersion({ ...rest, backends, policies: policiesChanged ? policies.ir : prev.ir.policies });
  return { statuses, ir };
}
