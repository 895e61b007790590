// Sends each expected request through the matcher and compares the outcome with what the
// conformance test asserts. A forward decision stands for what the echo backend would report:
// the backend Service (and, like the suite's pod-name check, its pods), the request after the
// rule's and the backend's filters, and the response headers after ResponseHeaderModifiers.
// Status codes follow the spec: all weights zero or only invalid refs → 500, no ready
// endpoint → 503, otherwise 200 from the backend.
import type { BackendIR, RoutingTable, WeightedBackendIR } from '../../../api/routing-table.ts';
import {
  applyBackendFilters, applyHeaderModifier, route,
  type CompiledTable, type Decision, type RequestDescriptor, type RouteTarget, type UpstreamRequest,
} from '../../../agent/route/index.ts';
import type { KubeObject } from '../../../controller/translate/snapshot.ts';
import type { Outcome, RequestExpectation } from './expectations.ts';

type Headers = Record<string, string | string[]>;

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

function splitHostPort(host: string): { name: string; port: number | null } {
  const m = /^(.*):(\d+)$/.exec(host);
  return m ? { name: m[1]!, port: Number(m[2]) } : { name: host, port: null };
}

/** Where the request goes and the Host it carries, as the conformance client would send it. */
export function resolveTarget(q: RequestExpectation, services: KubeObject[], gatewayAddresses: Record<string, string[]>): { target: RouteTarget; authority: string } {
  if (q.gateway !== null) {
    const port = q.port ?? 80;
    // With no Host the suite sends the Gateway's address (host:port unless port 80).
    const addr = gatewayAddresses[q.gateway]?.[0] ?? 'gateway.invalid';
    const authority = q.hostHeader ?? q.host ?? (port === 80 ? addr : `${addr}:${port}`);
    return { target: { kind: 'gateway', gateway: `gateway/${q.gateway}`, port }, authority };
  }
  const clientNamespace = q.mesh!.clientNamespace;
  const host = q.host ?? 'echo';
  const { name, port } = splitHostPort(host);
  let address = name;
  if (!IPV4.test(name)) {
    // DNS short name (resolved in the caller's namespace) or name.namespace[.svc...].
    const [svcName, ns = clientNamespace] = name.split('.');
    const svc = services.find((s) => s.metadata.name === svcName && (s.metadata.namespace ?? '') === ns);
    const ip = (svc?.spec as { clusterIP?: unknown } | undefined)?.clusterIP;
    if (typeof ip !== 'string') throw new Error(`host '${host}': no Service ${ns}/${String(svcName)} with a clusterIP in the input`);
    address = ip;
  }
  return { target: { kind: 'mesh', address, port: port ?? 80, clientNamespace }, authority: q.hostHeader ?? host };
}

export function describeRequest(q: RequestExpectation, authority: string): RequestDescriptor {
  const [path = '/', query = ''] = q.path.split(/\?(.*)/s);
  const headers: Headers = {};
  for (const [k, v] of Object.entries(q.headers)) headers[k.toLowerCase()] = v;
  return { method: q.method, scheme: q.scheme, authority, path, query, headers };
}

function flat(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

function header(headers: Headers, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : flat(headers[key]);
}

const backendName = (b: BackendIR): string => `${b.namespace}/${b.serviceName}`;

interface Observed {
  status: number | string;
  /** The backends that receive traffic, with their weights. */
  live: { wb: WeightedBackendIR; ir: BackendIR | null }[];
}

/** The echo backend's `?delay=` (Go duration like 1s or 500ms), in milliseconds. */
function requestedDelay(query: string): number | null {
  const v = new URLSearchParams(query).get('delay');
  const m = v === null ? null : /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v);
  if (!m) return null;
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[m[2] as 'ms' | 's' | 'm'];
}

function observe(d: Decision, table: RoutingTable, delayMs: number | null): Observed {
  if (d.type === 'respond') return { status: d.status, live: [] };
  if (d.type === 'passthrough') return { status: 200, live: [] };
  const live = d.backends.filter((b) => b.weight > 0)
    .map((wb) => ({ wb, ir: wb.backend === null ? null : table.backends.find((b) => b.name === wb.backend) ?? null }));
  if (live.length === 0 || live.every((l) => l.ir === null)) return { status: 500, live };
  if (live.some((l) => l.ir === null)) return { status: 'a mix of 500 and backend responses', live };
  if (live.some((l) => !l.ir!.endpoints.some((e) => e.ready))) return { status: 'a backend without ready endpoints (503)', live };
  // A backend that takes longer than a configured timeout (0 disables one) is cut off: 504.
  const limits = [d.timeouts?.requestMs, d.timeouts?.backendRequestMs].filter((t): t is number => typeof t === 'number' && t > 0);
  if (delayMs !== null && limits.some((t) => delayMs > t)) return { status: 504, live };
  return { status: 200, live };
}

function checkHeaders(failures: string[], what: string, headers: Headers, want: Record<string, string>, absent: string[]): void {
  for (const [name, value] of Object.entries(want)) {
    const got = header(headers, name);
    if (got !== value) failures.push(`${what} header ${name}: got ${got === undefined ? 'nothing' : `'${got}'`}, expected '${value}'`);
  }
  for (const name of absent) {
    const got = header(headers, name);
    if (got !== undefined) failures.push(`${what} header ${name} should be absent, got '${got}'`);
  }
}

/** Compares one decision with its expected outcome; returns what differs. */
export function checkOutcome(q: RequestExpectation, request: RequestDescriptor, d: Decision, table: RoutingTable): string[] {
  const e: Outcome = q.expect;
  const failures: string[] = [];
  const seen = observe(d, table, requestedDelay(request.query));
  const why = d.type === 'passthrough' ? d.reason : d.type === 'respond' ? d.reason : `rule ${d.rule?.name ?? '(default backend)'}`;
  if (e.status !== null && seen.status !== e.status) failures.push(`status: got ${seen.status} (${why}), expected ${e.status}`);
  if (e.passthrough !== (d.type === 'passthrough')) failures.push(`decision: got ${d.type} (${why}), expected ${e.passthrough ? 'passthrough' : 'no passthrough'}`);
  if (d.type === 'respond') {
    if (e.location !== null && header(d.headers, 'location') !== e.location) failures.push(`Location: got '${String(header(d.headers, 'location'))}', expected '${e.location}'`);
    if (e.redirect !== null) checkRedirect(failures, e.redirect, header(d.headers, 'location'));
    checkHeaders(failures, 'response', d.headers, e.responseHeaders, e.absentResponseHeaders);
    return failures;
  }
  if (e.location !== null || e.redirect !== null) failures.push(`Location: got a ${d.type} decision, expected a redirect`);
  if (d.type === 'passthrough') {
    if (e.backend !== null) checkPassthroughPod(failures, e.backend, request, table);
    checkHeaders(failures, 'response', {}, e.responseHeaders, e.absentResponseHeaders);
    return failures;
  }
  if (e.backend !== null) {
    const names = [...new Set(seen.live.map((l) => (l.ir ? backendName(l.ir) : `invalid (${l.wb.invalidReason ?? '?'})`)))];
    if (names.length !== 1 || names[0] !== e.backend) failures.push(`backend: got [${names.join(', ')}], expected ${e.backend}`);
    for (const l of seen.live) checkPods(failures, e.backend, l.ir);
  }
  if (e.backendPods !== null) {
    if (seen.live.length === 0) failures.push(`backend pods: no backend receives the request, expected ${e.backendPods} pods`);
    for (const l of seen.live) {
      if (!l.ir || l.ir.endpoints.length === 0) failures.push(`backend pods: ${l.wb.backend ?? 'invalid backend'} has no endpoints, expected ${e.backendPods} pods`);
      checkPods(failures, e.backendPods, l.ir);
    }
  }
  if (e.split !== null) checkSplit(failures, e.split, d.backends, table);
  if (e.mirrors !== null) checkMirrors(failures, e.mirrors, d, seen.live.map((l) => l.wb), table);
  // What the echo backend reports: check each backend that can receive the request.
  for (const l of seen.live.length > 0 ? seen.live : [{ wb: null, ir: null }]) {
    const filtered = l.wb ? applyBackendFilters(d.request, l.wb) : { request: d.request, responseHeaders: [] };
    checkUpstream(failures, q, request, filtered.request, seen.status === 200);
    // The suite's echo backends reflect the request headers they receive into the response,
    // so ResponseHeaderModifiers start from those.
    let response: Headers = { ...filtered.request.headers };
    for (const m of [...d.responseHeaders, ...filtered.responseHeaders]) response = applyHeaderModifier(response, m);
    checkHeaders(failures, 'response', response, e.responseHeaders, e.absentResponseHeaders);
  }
  return failures;
}

/** As the suite's CompareRedirect: each given part of the Location must match. */
function checkRedirect(failures: string[], want: NonNullable<Outcome['redirect']>, location: string | undefined): void {
  let url: URL;
  try {
    url = new URL(location ?? '');
  } catch {
    failures.push(`Location '${String(location)}' is not an absolute URL`);
    return;
  }
  const got = { scheme: url.protocol.replace(/:$/, ''), host: url.hostname, port: url.port, path: url.pathname };
  for (const k of ['scheme', 'host', 'port', 'path'] as const) {
    if (want[k] !== null && got[k] !== want[k]) failures.push(`redirect ${k}: got '${got[k]}' (Location ${String(location)}), expected '${want[k]}'`);
  }
}

function checkUpstream(failures: string[], q: RequestExpectation, sent: RequestDescriptor, up: UpstreamRequest, reached: boolean): void {
  const e = q.expect;
  // Like the suite: without an explicit expectation the backend must see the request as sent.
  const wantPath = e.path ?? (reached ? q.path : null);
  if (wantPath !== null && up.pathAndQuery !== wantPath) failures.push(`upstream path: got '${up.pathAndQuery}', expected '${wantPath}'`);
  const wantHost = e.host ?? (reached && (q.host ?? q.hostHeader) !== null ? sent.authority : null);
  if (wantHost !== null && up.authority !== wantHost) failures.push(`upstream host: got '${up.authority}', expected '${wantHost}'`);
  const implicit = reached && Object.keys(e.requestHeaders).length === 0 && e.absentRequestHeaders.length === 0 ? q.headers : {};
  checkHeaders(failures, 'upstream request', up.headers, { ...implicit, ...e.requestHeaders }, e.absentRequestHeaders);
}

/** The suite checks the answering pod's name starts with the backend's deployment name. */
function checkPods(failures: string[], expected: string, ir: BackendIR | null): void {
  const deployment = expected.split('/')[1] ?? expected;
  for (const ep of ir?.endpoints ?? []) {
    if (ep.podName !== null && !ep.podName.startsWith(`${deployment}-`)) failures.push(`backend pod ${ep.podName} is not a ${deployment} pod`);
  }
}

function checkPassthroughPod(failures: string[], expected: string, request: RequestDescriptor, table: RoutingTable): void {
  const address = request.authority.replace(/:\d+$/, '');
  const pods = [...new Set(table.backends.flatMap((b) => b.endpoints).filter((ep) => ep.address === address).map((ep) => ep.podName))];
  const deployment = expected.split('/')[1] ?? expected;
  if (!pods.some((p) => p?.startsWith(`${deployment}-`))) failures.push(`passthrough address ${address} is not a ${deployment} pod (pods: ${pods.join(', ') || 'none'})`);
}

/** Mirrors from the rule's filters and from the backendRef's own filters. */
function checkMirrors(failures: string[], want: Record<string, number>, d: Extract<Decision, { type: 'forward' }>, live: WeightedBackendIR[], table: RoutingTable): void {
  const all = [...d.mirrors, ...live.flatMap((wb) => applyBackendFilters(d.request, wb).mirrors)];
  const got: Record<string, number> = {};
  for (const m of all) {
    const ir = table.backends.find((b) => b.name === m.backend);
    got[ir ? backendName(ir) : m.backend] = m.percent;
  }
  const show = (r: Record<string, number>): string => Object.entries(r).map(([k, v]) => `${k}=${v}%`).sort().join(', ') || 'none';
  if (show(got) !== show(want)) failures.push(`mirrors: got ${show(got)}, expected ${show(want)}`);
}

function checkSplit(failures: string[], want: Record<string, number>, backends: WeightedBackendIR[], table: RoutingTable): void {
  const got = new Map<string, number>();
  for (const wb of backends) {
    const ir = wb.backend === null ? null : table.backends.find((b) => b.name === wb.backend);
    const key = ir ? backendName(ir) : `invalid (${wb.invalidReason ?? '?'})`;
    got.set(key, (got.get(key) ?? 0) + wb.weight);
  }
  const wantTotal = Object.values(want).reduce((a, b) => a + b, 0);
  const gotTotal = [...got.values()].reduce((a, b) => a + b, 0);
  const show = [...got].map(([k, w]) => `${k}=${w}`).join(', ');
  for (const key of new Set([...Object.keys(want), ...got.keys()])) {
    const w = (want[key] ?? 0) / wantTotal;
    const g = gotTotal === 0 ? 0 : (got.get(key) ?? 0) / gotTotal;
    if (Math.abs(w - g) > 1e-9) failures.push(`split: ${key} gets ${(g * 100).toFixed(1)}%, expected ${(w * 100).toFixed(1)}% (weights: ${show})`);
  }
}

export function runRequest(q: RequestExpectation, compiled: CompiledTable, services: KubeObject[], gatewayAddresses: Record<string, string[]>): string[] {
  const resolved = resolveTarget(q, services, gatewayAddresses);
  const { authority } = resolved;
  // HTTPS requests carry their TLS server name: it selects the listener, as at the ingress.
  const target = resolved.target.kind === 'gateway' && q.sni !== null ? { ...resolved.target, serverName: q.sni } : resolved.target;
  const request = describeRequest(q, authority);
  const decision = route(compiled, target, request);
  return checkOutcome(q, request, decision, compiled.table);
}
