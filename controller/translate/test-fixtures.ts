// Builders for the translate tests: small, explicit Kubernetes objects so each test reads as the
// YAML a user would write. Not used by production code.
import { GATEWAY_CONTROLLER_NAME } from '../../api/names.ts';
import { validate } from '../../api/validate.ts';
import { translate } from './index.ts';
import { emptySnapshot, type KubeObject, type Snapshot, type TranslateResult } from './snapshot.ts';

export const GW = 'gateway.networking.k8s.io/v1';

export function gatewayClass(name = 'meshlet', controllerName = GATEWAY_CONTROLLER_NAME): KubeObject {
  return { apiVersion: GW, kind: 'GatewayClass', metadata: { name, generation: 1 }, spec: { controllerName } };
}

export function gateway(name: string, listeners: Record<string, unknown>[], extra: Record<string, unknown> = {}, namespace = 'infra'): KubeObject {
  return { apiVersion: GW, kind: 'Gateway', metadata: { name, namespace, generation: 2 }, spec: { gatewayClassName: 'meshlet', listeners, ...extra } };
}

export function httpListener(name: string, port = 80, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, port, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } }, ...extra };
}

export function route(kind: 'HTTPRoute' | 'GRPCRoute', name: string, namespace: string, spec: Record<string, unknown>, creationTimestamp = '2026-01-01T00:00:00Z'): KubeObject {
  return { apiVersion: GW, kind, metadata: { name, namespace, generation: 3, creationTimestamp }, spec };
}

export function httpRoute(name: string, namespace: string, spec: Record<string, unknown>, creationTimestamp?: string): KubeObject {
  return route('HTTPRoute', name, namespace, spec, creationTimestamp);
}

export function service(name: string, namespace: string, ports: Record<string, unknown>[] = [{ name: 'http', port: 80 }], clusterIP = '10.0.0.1'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { clusterIP, clusterIPs: clusterIP === 'None' ? ['None'] : [clusterIP], ports } };
}

export function endpointSlice(service: string, namespace: string, addresses: string[], ports: Record<string, unknown>[] = [{ name: 'http', port: 8080 }], podName?: string): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${service}-abc`, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, ...(podName ? { targetRef: { kind: 'Pod', name: podName, namespace } } : {}) })),
    ports,
  };
}

export function referenceGrant(namespace: string, from: { kind: string; namespace: string; group?: string }, to: { kind: string; group?: string; name?: string }): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: `grant-${from.namespace}`, namespace },
    spec: { from: [{ group: from.group ?? 'gateway.networking.k8s.io', kind: from.kind, namespace: from.namespace }], to: [{ group: to.group ?? '', kind: to.kind, ...(to.name ? { name: to.name } : {}) }] },
  };
}

export function snapshot(parts: Partial<Snapshot>): Snapshot {
  return { ...emptySnapshot(), ...parts };
}

/** A syntactically valid PEM pair (random bytes, not a real key): translate only checks shape. */
export function tlsSecret(name: string, namespace: string): KubeObject {
  const body = Buffer.from('meshlet-test-certificate-bytes!!').toString('base64');
  const crt = `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
  const key = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
  return {
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(crt).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
  };
}

/** translate() plus the contract every result must meet: the table passes validate(). */
export function run(s: Snapshot): TranslateResult {
  const r = translate(s);
  validate(r.ir);
  return r;
}

export function statusOf(r: TranslateResult, kind: string, name: string, namespace?: string): Record<string, unknown> | undefined {
  return r.statuses.find((s) => s.kind === kind && s.name === name && (namespace === undefined || s.namespace === namespace))?.status;
}

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export function cond(conditions: unknown, type: string): Cond | undefined {
  return (conditions as Cond[] | undefined)?.find((c) => c.type === type);
}

export interface ParentStatus {
  parentRef: Record<string, unknown>;
  controllerName: string;
  conditions: Cond[];
}

/** The parents[] entries meshlet wrote on a route. */
export function parents(r: TranslateResult, kind: string, name: string, namespace: string): ParentStatus[] {
  return ((statusOf(r, kind, name, namespace)?.parents ?? []) as ParentStatus[]);
}

/** "True/Accepted"-style summary of one condition of a route's parent entry. */
export function routeCond(r: TranslateResult, kind: string, name: string, namespace: string, type: string, parent = 0): string {
  const c = cond(parents(r, kind, name, namespace)[parent]?.conditions, type);
  return c ? `${c.status}/${c.reason}` : 'absent';
}

export function listenerStatus(r: TranslateResult, gateway: string, listener: string, namespace = 'infra'): { attachedRoutes: number; supportedKinds: unknown[]; conditions: Cond[] } | undefined {
  const ls = (statusOf(r, 'Gateway', gateway, namespace)?.listeners ?? []) as { name: string; attachedRoutes: number; supportedKinds: unknown[]; conditions: Cond[] }[];
  return ls.find((l) => l.name === listener);
}

export function listenerCond(r: TranslateResult, gateway: string, listener: string, type: string): string {
  const c = cond(listenerStatus(r, gateway, listener)?.conditions, type);
  return c ? `${c.status}/${c.reason}` : 'absent';
}
