// route(): from a connection's target and a request to a Decision. Synchronous, and a function
// of its arguments alone: the only state it keeps is a memo per target of the last match
// (match-cache.ts, keyed on everything the match reads) and a count of the process's first
// requests, which change how fast a decision is found, never which. The data plane, `meshlet
// explain` and the golden tests all call it.
//
// Gateway target: the port's first listener whose hostname matches the Host (listener
// isolation), then that listener's most specific virtual host, then its first matching rule.
// Mesh target: the Service frontend at ClusterIP:port (never chosen by Host); the caller's
// namespace's consumer routes if any, else the producer routes, else the Service itself.
//
// Answers that are not a forward: 400 for a malformed request (request.ts), 404 when no
// listener, virtual host or rule answers, the rule's status for a Respond action, 500 for a
// Forward rule with no backends at all, and `passthrough` for a mesh address the table does
// not know (the caller sent to an address outside the mesh, so the proxy stays out of the way).
import type { RouteRuleIR, ServicePortIR, WeightedBackendIR } from '../../api/routing-table.ts';
import type { CompiledTable } from './compile.ts';
import { serviceKey } from './compile.ts';
import { applyFilters } from './filters.ts';
import { applyHeaderModifier } from './header-modifier.ts';
import { findVirtualHost, hostnameMatches, type VirtualHostIndex } from './host-match.ts';
import { joinPathAndQuery } from './path-modifier.ts';
import { buildLocation } from './redirect.ts';
import { keepMatch, keptMatch } from './match-cache.ts';
import { normalizedAs, normalizeRequest, type NormalizedRequest } from './request.ts';
import { firstMatch, type CompiledVirtualHost } from './rule-index.ts';
import type { Decision, RequestDescriptor, RouteTarget, UpstreamRequest } from './types.ts';

export function respond(rule: RouteRuleIR | null, status: number, reason: string, headers: Record<string, string> = {}): Decision {
  return { type: 'respond', rule, status, headers, reason };
}

/** Where the routes for a request come from, once the target is resolved. */
export type Selection =
  | { kind: 'routes'; vhosts: VirtualHostIndex; where: string }
  | { kind: 'default'; backend: string; where: string; port: ServicePortIR }
  | { kind: 'decided'; decision: Decision };

export function select(compiled: CompiledTable, target: RouteTarget, req: NormalizedRequest): Selection {
  if (target.kind === 'gateway') {
    const port = compiled.gateways.get(target.gateway)?.get(target.port);
    if (!port) return { kind: 'decided', decision: respond(null, 404, `no listener on ${target.gateway} port ${target.port}`) };
    if (target.serverName) {
      const sni = target.serverName.toLowerCase().replace(/\.$/, '');
      const bySni = port.listeners.find((l) => hostnameMatches(l.listener.hostname, sni));
      if (!bySni) return { kind: 'decided', decision: respond(null, 404, `no listener on ${target.gateway} port ${target.port} accepts server name '${sni}'`) };
      if (!hostnameMatches(bySni.listener.hostname, req.host)) {
        return { kind: 'decided', decision: respond(null, 421, `host '${req.host}' is not served by ${bySni.listener.name}, which the TLS server name '${sni}' selected`) };
      }
      return { kind: 'routes', vhosts: bySni.vhosts, where: bySni.listener.name };
    }
    const listener = port.listeners.find((l) => hostnameMatches(l.listener.hostname, req.host));
    if (!listener) return { kind: 'decided', decision: respond(null, 404, `no listener on ${target.gateway} port ${target.port} accepts host '${req.host}'`) };
    return { kind: 'routes', vhosts: listener.vhosts, where: listener.listener.name };
  }
  const svc = compiled.services.get(serviceKey(target.address, target.port));
  if (!svc) return { kind: 'decided', decision: { type: 'passthrough', reason: `${target.address}:${target.port} is not a known Service port` } };
  const where = `${svc.service.name}/${svc.port.port}`;
  const consumer = svc.consumers.get(target.clientNamespace);
  if (consumer) return { kind: 'routes', vhosts: consumer.vhosts, where: `${where} (consumer routes of ${target.clientNamespace})` };
  if (svc.producer) return { kind: 'routes', vhosts: svc.producer.vhosts, where: `${where} (producer routes)` };
  return { kind: 'default', backend: svc.port.defaultBackend, where, port: svc.port };
}

function upstreamOf(request: RequestDescriptor, req: NormalizedRequest): UpstreamRequest {
  return {
    method: req.method,
    authority: typeof request.authority === 'string' ? request.authority : '',
    pathAndQuery: joinPathAndQuery(req.path, req.query),
    headers: { ...req.headers },
  };
}

/** The decision for a matched rule. */
export function decide(rule: RouteRuleIR, request: RequestDescriptor, req: NormalizedRequest, port: number): Decision {
  const action = rule.action;
  if (action.type === 'Respond') return respond(rule, action.status, action.reason);
  if (action.type === 'Redirect') {
    const location = buildLocation(action.redirect, { scheme: req.scheme, host: req.host, path: req.path, query: req.query, port });
    let headers: Record<string, string | string[]> = { location };
    for (const f of rule.filters) if (f.type === 'ResponseHeaderModifier') headers = applyHeaderModifier(headers, f.modifier);
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return respond(rule, action.redirect.statusCode, 'redirect', flat);
  }
  if (action.backends.length === 0) return respond(rule, 500, 'rule has no backends');
  const { request: upstream, responseHeaders, mirrors } = applyFilters(upstreamOf(request, req), rule.filters);
  return {
    type: 'forward', rule, request: upstream, backends: action.backends, responseHeaders, mirrors,
    timeouts: rule.timeouts, retry: rule.retry,
  };
}

// A Service port's default backend list, one per port of a table: the data plane keeps a
// weighted picker per list identity (agent/balance/weighted.ts), and a list made per request made
// a new picker per request, for every Service without routes.
const defaultBackends = new WeakMap<ServicePortIR, WeightedBackendIR[]>();

function defaultBackendsOf(port: ServicePortIR, backend: string): WeightedBackendIR[] {
  let list = defaultBackends.get(port);
  if (list === undefined || list[0]!.backend !== backend) {
    list = [{ backend, weight: 1, filters: [], invalidReason: null }];
    defaultBackends.set(port, list);
  }
  return list;
}

export function defaultForward(backend: string, request: RequestDescriptor, req: NormalizedRequest, port?: ServicePortIR): Decision {
  return {
    type: 'forward', rule: null, request: upstreamOf(request, req),
    backends: port ? defaultBackendsOf(port, backend) : [{ backend, weight: 1, filters: [], invalidReason: null }],
    responseHeaders: [], mirrors: [], timeouts: null, retry: null,
  };
}

// A mesh target's selection depends on the table and the target alone, never on the request, and
// a kept-alive connection keeps its target object (the outbound side's destination): its
// requests share the selection per table instead of building the service key and texts again.
const meshSelections = new WeakMap<RouteTarget, { compiled: CompiledTable; sel: Selection }>();

function selectFor(compiled: CompiledTable, target: RouteTarget, req: NormalizedRequest): Selection {
  if (target.kind !== 'mesh') return select(compiled, target, req);
  const kept = meshSelections.get(target);
  if (kept !== undefined && kept.compiled === compiled) return kept.sel;
  const sel = select(compiled, target, req);
  // a decided selection (passthrough) is a Decision handed out: made fresh for each request
  if (sel.kind !== 'decided') meshSelections.set(target, { compiled, sel });
  return sel;
}

// The process's first requests are all matched in full: V8 collects no call feedback during a
// function's first few runs, and a full match first needed after a long run of kept ones (a new
// table, a new connection) then deoptimized this function on its calls with no feedback.
export const FULL_FIRST = 256;
let routed = 0;

function routeUnsafe(compiled: CompiledTable, target: RouteTarget, request: RequestDescriptor): Decision {
  // the connection's last request matched a rule and this one cannot match differently (match-cache.ts)
  const hit = routed < FULL_FIRST ? (routed++, null) : keptMatch(compiled, target, request);
  if (hit !== null) return decide(hit.match.rule, request, normalizedAs(request, hit.host, hit.path), target.port);
  const req = normalizeRequest(request);
  if (!req.ok) return respond(null, req.status, req.reason);
  const sel = selectFor(compiled, target, req);
  if (sel.kind === 'decided') return sel.decision;
  if (sel.kind === 'default') return defaultForward(sel.backend, request, req, sel.port);
  const vh: CompiledVirtualHost | null = findVirtualHost(sel.vhosts, req.host);
  if (!vh) return respond(null, 404, `no virtual host for '${req.host}' on ${sel.where}`);
  const match = firstMatch(vh, req);
  if (!match) return respond(null, 404, `no rule of virtual host '${vh.vhost.hostname}' on ${sel.where} matches`);
  keepMatch(compiled, target, request, vh, req.host, req.path, match);
  return decide(match.rule, request, req, target.port);
}

export function route(compiled: CompiledTable, target: RouteTarget, request: RequestDescriptor): Decision {
  try {
    return routeUnsafe(compiled, target, request);
  } catch (err) {
    // Last line of defence: a request must never take the proxy down. Tests assert this path
    // is not reached for any generated input.
    return respond(null, 500, `matcher error: ${(err as Error).message}`);
  }
}
