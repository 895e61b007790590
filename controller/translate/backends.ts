// backendRefs → routing-table backends. Only core Services are supported backends (InvalidKind
// otherwise); Gateway routes need a ReferenceGrant to reach another namespace (RefNotPermitted),
// mesh routes do not (GAMMA: the route's author already controls the callers it applies to).
// Every resolved Service port becomes one BackendIR, shared by all rules that use it.
import { GATEWAY_API_GROUP } from '../../api/names.ts';
import type { BackendIR } from '../../api/routing-table.ts';
import { endpointsFor, servicePorts, type ServicePort } from './endpoints.ts';
import type { Lookup } from './lookup.ts';
import { isReferenceAllowed } from './reference-grants.ts';
import type { KubeObject } from './snapshot.ts';
import { compareStrings, int, namespaceOf, specOf, str, type Rec } from './util.ts';

export type RefMode = 'gateway' | 'mesh';

/** Builds the BackendIR of a Service port (incremental translation hands back unchanged ones). */
export type BackendMaker = (name: string, svc: KubeObject, port: ServicePort, lookup: Lookup) => BackendIR;

export function makeBackend(name: string, svc: KubeObject, port: ServicePort, lookup: Lookup): BackendIR {
  return {
    name, namespace: namespaceOf(svc), serviceName: svc.metadata.name, port: port.port, appProtocol: port.appProtocol,
    endpoints: endpointsFor(lookup, svc, port),
  };
}

const byName = (a: BackendIR, b: BackendIR): number => compareStrings(a.name, b.name);

export class BackendCatalog {
  private readonly byName = new Map<string, BackendIR>();
  private readonly lookup: Lookup;
  private readonly make: BackendMaker;

  constructor(lookup: Lookup, make: BackendMaker = makeBackend) {
    this.lookup = lookup;
    this.make = make;
  }

  /** `name`: the name this Service port registered under before (incremental translation replays it). */
  register(svc: KubeObject, port: ServicePort, name = `service/${namespaceOf(svc)}/${svc.metadata.name}/${port.port}`): string {
    if (!this.byName.has(name)) this.byName.set(name, this.make(name, svc, port, this.lookup));
    return name;
  }

  /** Every registered backend by name; `sort` may sort them in its own way (incremental translation keeps last round's order). */
  all(sort?: (items: BackendIR[], compare: (a: BackendIR, b: BackendIR) => number) => BackendIR[]): BackendIR[] {
    const items = [...this.byName.values()];
    return sort ? sort(items, byName) : items.sort(byName);
  }
}

export interface RefContext {
  lookup: Lookup;
  catalog: BackendCatalog;
  routeKind: 'HTTPRoute' | 'GRPCRoute';
  routeNamespace: string;
  mode: RefMode;
}

export type BackendResolution =
  | { ok: true; backend: string }
  | { ok: false; reason: 'InvalidKind' | 'BackendNotFound' | 'RefNotPermitted'; message: string };

export function resolveBackendRef(ref: Rec, ctx: RefContext, field: string): BackendResolution {
  const group = str(ref.group) ?? '';
  const kind = str(ref.kind) ?? 'Service';
  if (group !== '' || kind !== 'Service') {
    return { ok: false, reason: 'InvalidKind', message: `${field}: ${group === '' ? 'core' : group}/${kind} is not a supported backend kind (only Service)` };
  }
  const name = str(ref.name);
  if (!name) return { ok: false, reason: 'BackendNotFound', message: `${field}: backendRef has no name` };
  const namespace = str(ref.namespace) ?? ctx.routeNamespace;
  // Only grants in the target namespace can allow the reference (and none is needed within one):
  // asking for exactly those lets incremental translation know which grants a route read.
  if (ctx.mode === 'gateway' && namespace !== ctx.routeNamespace && !isReferenceAllowed(ctx.lookup.grantsInto(namespace),
    { group: GATEWAY_API_GROUP, kind: ctx.routeKind, namespace: ctx.routeNamespace },
    { group: '', kind: 'Service', namespace, name })) {
    return { ok: false, reason: 'RefNotPermitted', message: `${field}: no ReferenceGrant allows ${ctx.routeKind}s in ${ctx.routeNamespace} to reference Service ${namespace}/${name}` };
  }
  const svc = ctx.lookup.service(namespace, name);
  if (!svc) return { ok: false, reason: 'BackendNotFound', message: `${field}: Service ${namespace}/${name} not found` };
  if (str(specOf(svc).type) === 'ExternalName') {
    return { ok: false, reason: 'BackendNotFound', message: `${field}: Service ${namespace}/${name} is of type ExternalName, which meshlet does not route to` };
  }
  const port = int(ref.port);
  if (port === undefined) return { ok: false, reason: 'BackendNotFound', message: `${field}: a port is required for Service ${namespace}/${name}` };
  const sp = servicePorts(svc).find((p) => p.port === port);
  if (!sp) return { ok: false, reason: 'BackendNotFound', message: `${field}: Service ${namespace}/${name} has no TCP port ${port}` };
  return { ok: true, backend: ctx.catalog.register(svc, sp) };
}
