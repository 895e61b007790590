// From a request and where it was going to what the proxy will do: ask the matcher, pick the
// backend by weight, apply the backend's filters. Shared by plain requests and WebSocket
// upgrades so both obey the same routes.
import type { BackendIR, HeaderModifierIR, RetryIR, RouteRuleIR, RoutingTable, TimeoutsIR } from '../../api/routing-table.ts';
import { applyBackendFilters, route } from '../route/index.ts';
import type { MirrorDecision, RequestDescriptor, RouteTarget, UpstreamRequest } from '../route/types.ts';
import type { Endpoint } from './connect.ts';
import type { ProxyCore } from './core.ts';
import { clientError, internalError, noRoutingTable, routeAnswer, type Rejection } from './rejection.ts';

/** Where a request is headed, as the listener's composition determined it. */
export type Destination =
  | { kind: 'route'; target: RouteTarget }
  /** Straight to one address (inbound to the local app, traffic outside the mesh). */
  | { kind: 'direct'; endpoint: Endpoint; reason: string }
  /** Refused by the listener's composition, with the reason a client may read. */
  | { kind: 'reject'; rejection: Rejection };

/** The rule a request met (telemetry names spans and labels metrics by it). */
interface PlanRule {
  /** IR rule name, null for direct and unrouted requests. */
  rule: string | null;
  /** The rule's path match value (`/api`), for span names. */
  routePath: string | null;
}

export type Plan =
  /** The proxy answers itself: a refusal, a rule's Respond action, a redirect. */
  | ({ kind: 'respond'; answer: Rejection; headers: Record<string, string> } & PlanRule)
  | ({
    kind: 'forward';
    backend: BackendIR;
    request: UpstreamRequest;
    responseHeaders: HeaderModifierIR[];
    mirrors: MirrorDecision[];
    timeouts: TimeoutsIR | null;
    retry: RetryIR | null;
    /** Retry budget key: the rule (its backend group); null for default and direct routes. */
    group: string | null;
    /** The table this request was planned with (mirror backends resolve in it too). */
    table: RoutingTable | null;
  } & PlanRule);

const NO_RULE: PlanRule = { rule: null, routePath: null };

function ruleOf(rule: RouteRuleIR | null): PlanRule {
  return rule ? { rule: rule.name, routePath: rule.match.path.value } : NO_RULE;
}

// A listener that keeps a connection's destination (the inbound side) asks for the same
// endpoint object on each request: its backend is built once, not per request.
const directBackends = new WeakMap<Endpoint, BackendIR>();

function directBackend(endpoint: Endpoint): BackendIR {
  let b = directBackends.get(endpoint);
  if (b === undefined) {
    b = buildDirectBackend(endpoint);
    directBackends.set(endpoint, b);
  }
  return b;
}

function buildDirectBackend(endpoint: Endpoint): BackendIR {
  return {
    name: `direct/${endpoint.address}:${endpoint.port}`, namespace: '', serviceName: '', port: endpoint.port, appProtocol: null,
    endpoints: [{
      address: endpoint.address, port: endpoint.port, ready: true, serving: true, terminating: false,
      zone: null, nodeName: null, podName: null, identity: endpoint.identity ?? null,
    }],
  };
}

function asIs(desc: RequestDescriptor): UpstreamRequest {
  return {
    method: desc.method,
    authority: desc.authority,
    pathAndQuery: desc.query ? `${desc.path}?${desc.query}` : desc.path,
    headers: desc.headers,
  };
}

function direct(endpoint: Endpoint, desc: RequestDescriptor): Plan {
  return {
    kind: 'forward', backend: directBackend(endpoint), request: asIs(desc),
    responseHeaders: [], mirrors: [], timeouts: null, retry: null, group: null, table: null, ...NO_RULE,
  };
}

/** Both lists in order; one of them as it is when the other is empty (nothing appends to a plan's lists). */
function joined<T>(a: T[], b: T[]): T[] {
  return b.length === 0 ? a : a.length === 0 ? b : [...a, ...b];
}

export function plan(core: ProxyCore, dest: Destination, desc: RequestDescriptor): Plan {
  if (dest.kind === 'reject') return { kind: 'respond', answer: dest.rejection, headers: {}, ...NO_RULE };
  if (dest.kind === 'direct') return direct(dest.endpoint, desc);
  const snapshot = core.holder.current;
  if (!snapshot) return { kind: 'respond', answer: noRoutingTable(), headers: {}, ...NO_RULE };
  const decision = route(snapshot.compiled, dest.target, desc);
  // The matcher (pure, shared with `meshlet explain`) names a status; its public text is set here.
  if (decision.type === 'respond') return { kind: 'respond', answer: routeAnswer(decision.status, decision.reason), headers: decision.headers, ...ruleOf(decision.rule) };
  if (decision.type === 'passthrough') {
    if (dest.target.kind !== 'mesh') return { kind: 'respond', answer: clientError(404, decision.reason), headers: {}, ...NO_RULE };
    return direct({ address: dest.target.address, port: dest.target.port }, desc);
  }
  const rule = ruleOf(decision.rule);
  const weighted = core.pickers.pick(decision.backends);
  if (!weighted) return { kind: 'respond', answer: internalError('all backends have weight 0'), headers: {}, ...rule };
  if (weighted.backend === null) return { kind: 'respond', answer: internalError(`invalid backend: ${weighted.invalidReason ?? 'unknown'}`), headers: {}, ...rule };
  const backend = core.backends(snapshot.table).get(weighted.backend);
  if (!backend) return { kind: 'respond', answer: internalError(`unknown backend ${weighted.backend}`), headers: {}, ...rule };
  const filtered = applyBackendFilters(decision.request, weighted);
  return {
    kind: 'forward',
    backend,
    request: filtered.request,
    responseHeaders: joined(decision.responseHeaders, filtered.responseHeaders),
    mirrors: joined(decision.mirrors, filtered.mirrors),
    timeouts: decision.timeouts,
    retry: decision.retry,
    group: decision.rule?.name ?? null,
    table: snapshot.table,
    // named, not spread: a spread is a generic property copy (~0.6 k instructions) on every request
    rule: rule.rule,
    routePath: rule.routePath,
  };
}
