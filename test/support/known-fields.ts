// The field paths golden inputs may use: Gateway API v1.6 (standard + experimental channel)
// types, plus the core kinds the cases need (Namespace, Service, EndpointSlice, Secret, Pod).
// translate() tolerates unknown fields, as it must for newer API versions; fixtures must not,
// because a misspelt field ("hostnmae") would silently test something else. So every key of
// every input object is checked against these shapes, and a stranger fails the case loudly.
//
// A shape is `true` (a scalar or list of scalars), `'map'` (free-form string keys: labels,
// selectors, Secret data), or an object of child shapes. Lists are transparent: a list is
// checked element by element against the shape of the field holding it.

export type Shape = true | 'map' | { readonly [field: string]: Shape };

const labelSelector: Shape = { matchLabels: 'map', matchExpressions: { key: true, operator: true, values: true } };
const objectMeta: Shape = {
  name: true, namespace: true, uid: true, generation: true, resourceVersion: true, creationTimestamp: true,
  deletionTimestamp: true, labels: 'map', annotations: 'map', ownerReferences: 'map', finalizers: true,
};
const parentRef: Shape = { group: true, kind: true, namespace: true, name: true, sectionName: true, port: true };
const objectRef: Shape = { group: true, kind: true, name: true, namespace: true };
const backendObjectRef: Shape = { group: true, kind: true, name: true, namespace: true, port: true };
const headerModifier: Shape = { set: { name: true, value: true }, add: { name: true, value: true }, remove: true };
const pathModifier: Shape = { type: true, replaceFullPath: true, replacePrefixMatch: true };
const mirror: Shape = { backendRef: backendObjectRef, percent: true, fraction: { numerator: true, denominator: true } };
const sessionPersistence: Shape = {
  sessionName: true, absoluteTimeout: true, idleTimeout: true, type: true, cookieConfig: { lifetimeType: true },
};

const httpFilter: Shape = {
  type: true,
  requestHeaderModifier: headerModifier,
  responseHeaderModifier: headerModifier,
  requestMirror: mirror,
  requestRedirect: { scheme: true, hostname: true, path: pathModifier, port: true, statusCode: true },
  urlRewrite: { hostname: true, path: pathModifier },
  extensionRef: { group: true, kind: true, name: true },
  cors: {
    allowOrigins: true, allowCredentials: true, allowMethods: true, allowHeaders: true, exposeHeaders: true, maxAge: true,
  },
  externalAuth: 'map',
};
const grpcFilter: Shape = {
  type: true, requestHeaderModifier: headerModifier, responseHeaderModifier: headerModifier, requestMirror: mirror,
  extensionRef: { group: true, kind: true, name: true },
};
const stringMatch: Shape = { type: true, name: true, value: true };

const httpRouteSpec: Shape = {
  parentRefs: parentRef,
  hostnames: true,
  useDefaultGateways: true,
  rules: {
    name: true,
    matches: { path: { type: true, value: true }, headers: stringMatch, queryParams: stringMatch, method: true },
    filters: httpFilter,
    backendRefs: { ...backendObjectRef, weight: true, filters: httpFilter },
    timeouts: { request: true, backendRequest: true },
    retry: { codes: true, attempts: true, backoff: true },
    sessionPersistence,
  },
};
const grpcRouteSpec: Shape = {
  parentRefs: parentRef,
  hostnames: true,
  useDefaultGateways: true,
  rules: {
    name: true,
    matches: { method: { type: true, service: true, method: true }, headers: stringMatch },
    filters: grpcFilter,
    backendRefs: { ...backendObjectRef, weight: true, filters: grpcFilter },
    sessionPersistence,
  },
};

const tlsValidation: Shape = { caCertificateRefs: objectRef, mode: true };
const gatewaySpec: Shape = {
  gatewayClassName: true,
  listeners: {
    name: true, hostname: true, port: true, protocol: true,
    tls: { mode: true, certificateRefs: objectRef, options: 'map' },
    allowedRoutes: { namespaces: { from: true, selector: labelSelector }, kinds: { group: true, kind: true } },
  },
  addresses: { type: true, value: true },
  infrastructure: { labels: 'map', annotations: 'map', parametersRef: { group: true, kind: true, name: true } },
  allowedListeners: { namespaces: { from: true, selector: labelSelector } },
  tls: {
    backend: { clientCertificateRef: objectRef },
    frontend: { default: { validation: tlsValidation }, perPort: { port: true, tls: { validation: tlsValidation } } },
  },
  defaultScope: true,
};

const top = (spec: Shape): Shape => ({ apiVersion: true, kind: true, metadata: objectMeta, spec, status: 'map' });

/** Shapes by kind. A kind missing here is refused outright. */
export const KNOWN_KINDS: Readonly<Record<string, Shape>> = {
  GatewayClass: top({ controllerName: true, parametersRef: { group: true, kind: true, name: true, namespace: true }, description: true }),
  Gateway: top(gatewaySpec),
  HTTPRoute: top(httpRouteSpec),
  GRPCRoute: top(grpcRouteSpec),
  ReferenceGrant: top({ from: { group: true, kind: true, namespace: true }, to: { group: true, kind: true, name: true } }),
  Namespace: top({ finalizers: true }),
  Service: top({
    type: true, clusterIP: true, clusterIPs: true, selector: 'map', externalName: true, ipFamilies: true, ipFamilyPolicy: true,
    sessionAffinity: true, internalTrafficPolicy: true, trafficDistribution: true,
    ports: { name: true, protocol: true, port: true, targetPort: true, appProtocol: true, nodePort: true },
  }),
  EndpointSlice: {
    apiVersion: true, kind: true, metadata: objectMeta, addressType: true,
    ports: { name: true, port: true, protocol: true, appProtocol: true },
    endpoints: {
      addresses: true, conditions: { ready: true, serving: true, terminating: true }, hostname: true, nodeName: true, zone: true,
      targetRef: { kind: true, name: true, namespace: true, uid: true }, hints: 'map',
    },
  },
  Secret: { apiVersion: true, kind: true, metadata: objectMeta, type: true, data: 'map', stringData: 'map', immutable: true },
  Pod: top({ serviceAccountName: true, nodeName: true, containers: 'map' }),
};

function walk(value: unknown, shape: Shape, path: string, out: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, shape, `${path}[${i}]`, out));
    return;
  }
  if (shape === 'map') return;
  const isObject = value !== null && typeof value === 'object';
  if (shape === true) {
    if (isObject) out.push(`${path}: expected a scalar, got an object`);
    return;
  }
  if (!isObject) {
    if (value !== null && value !== undefined) out.push(`${path}: expected an object`);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const sub = shape[key];
    if (sub === undefined) out.push(`${path}.${key}`);
    else walk(child, sub, `${path}.${key}`, out);
  }
}

/** Paths of fields that are not part of the object's kind (empty when all are known). */
export function unknownFields(obj: { kind: string } & Record<string, unknown>): string[] {
  const shape = KNOWN_KINDS[obj.kind];
  if (!shape) return [`${obj.kind}: kind not allowed in golden inputs`];
  const out: string[] = [];
  walk(obj, shape, obj.kind, out);
  return out;
}
