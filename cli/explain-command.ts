// `meshlet explain`: which route rule a request hits and why, what the filters do to it, and
// where it may go with what probability. It calls the same matcher the proxy runs, so its
// answer is the proxy's answer; it also warns about rules that can never match.
import { authorize } from '../agent/inbound/authorize.ts';
import { spiffeId } from '../api/names.ts';
import { parseArgs } from 'node:util';
import type { BackendIR, RouteRuleIR, RoutingTable, WeightedBackendIR } from '../api/routing-table.ts';
import { compileTable, applyBackendFilters, explain, shadowedRules } from '../agent/route/index.ts';
import type { Decision, RequestDescriptor } from '../agent/route/types.ts';
import { translate } from '../controller/translate/index.ts';
import type { Command } from './command.ts';
import { loadInput, parseAddresses } from './load-input.ts';
import { resolveGatewayTarget, resolveMeshTarget } from './resolve-target.ts';
import { explainOutbound } from './explain-outbound.ts';
import { ClusterNetworksInvalidError, parseClusterNetworks } from '../agent/outbound/cluster-networks.ts';
import { DEFAULT_CLUSTER_NETWORKS } from '../api/pod-env.ts';
import { UsageError } from './usage-error.ts';

const HELP = `Usage: meshlet explain -f PATH 'METHOD URL' [-H 'name: value']... (--gateway NS/NAME | --from NS)

Shows which route rule a request hits (or why none does), what the rule's filters do to it,
which backends it may reach with what probability, the identity each backend's workload
presents (mTLS) and whether AuthorizationPolicies there admit the caller.

  --gateway NS/NAME   the request arrives at this Gateway; the URL's port picks the listener
  --from NS           the request comes from a meshed pod in namespace NS; the URL's host is a
                      Service (name, name.ns, name.ns.svc.cluster.local or its ClusterIP)
  -H 'name: value'    a request header (repeatable)
  --address A         an address the environment gave a Gateway (see 'meshlet translate')
  --as [NS/]SA        the caller's service account (default: NS's 'default' with --from, the
                      ingress's meshlet-system/meshlet-ingress with --gateway)
  --cluster-networks CIDRS  with --from and an IP address that is no Service: the mesh's
                      clusterNetworks, which decide whether a sidecar asks the controller about
                      it or passes it straight through (default: ${DEFAULT_CLUSTER_NETWORKS.join(',')})

Example:
  meshlet explain -f examples/ 'GET http://reviews:9080/' --from default
`;

function describeRule(rule: RouteRuleIR | null): string {
  if (!rule) return '(no route attached: the Service itself)';
  const s = rule.source;
  return `${rule.name}  (${s.kind} ${s.namespace}/${s.name}, rule ${s.rule}, match ${s.match})`;
}

function share(b: WeightedBackendIR, all: WeightedBackendIR[]): string {
  const total = all.reduce((n, x) => n + x.weight, 0);
  return total === 0 ? '0%' : `${((100 * b.weight) / total).toFixed(1).replace(/\.0$/, '')}%`;
}

/** Who the endpoints are and what their policies say to `caller` (a SPIFFE ID). */
function identityLines(ir: BackendIR, table: RoutingTable, caller: string | null): string[] {
  const out: string[] = [];
  const ids = [...new Set(ir.endpoints.map((e) => e.identity ?? ''))];
  for (const id of ids) out.push(`          ${id ? `identity ${id} (mTLS)` : 'not meshed (plaintext: no sidecar, or no Pod object to say which service account)'}`);
  const decisions = new Map<string, string>();
  for (const e of ir.endpoints) {
    const d = authorize(table, e.address, e.port, e.identity ? caller : null, 'allow');
    if (d.policies.length > 0) decisions.set(d.reason, d.allowed ? 'allowed' : 'denied (403)');
  }
  for (const [reason, verdict] of decisions) out.push(`          policy: ${verdict}: ${reason}`);
  return out;
}

export function formatDecision(decision: Decision, table: RoutingTable, caller: string | null = null): string[] {
  const out: string[] = [];
  if (decision.type === 'passthrough') {
    out.push(`passthrough: ${decision.reason}`);
    return out;
  }
  out.push(`rule:     ${describeRule(decision.rule)}`);
  if (decision.type === 'respond') {
    out.push(`answer:   ${decision.status} (${decision.reason})`);
    for (const [k, v] of Object.entries(decision.headers)) out.push(`          ${k}: ${v}`);
    return out;
  }
  const r = decision.request;
  out.push(`upstream: ${r.method} ${r.pathAndQuery}  Host: ${r.authority}`);
  for (const [k, v] of Object.entries(r.headers)) out.push(`          ${k}: ${Array.isArray(v) ? v.join(', ') : v}`);
  if (decision.timeouts) out.push(`timeouts: request ${decision.timeouts.requestMs ?? 'none'} ms, backend request ${decision.timeouts.backendRequestMs ?? 'none'} ms`);
  if (decision.retry) out.push(`retry:    ${decision.retry.attempts} attempts on ${decision.retry.codes.join(', ') || 'connection errors'}`);
  for (const m of decision.mirrors) out.push(`mirror:   ${m.backend} (${m.percent}% of requests)`);
  out.push('backends:');
  if (decision.backends.length === 0) out.push('  none: 500');
  for (const b of decision.backends) {
    if (b.backend === null) {
      out.push(`  ${share(b, decision.backends).padStart(6)}  answered 500 (invalid backend: ${b.invalidReason ?? 'unknown'})`);
      continue;
    }
    const ir = table.backends.find((x) => x.name === b.backend);
    const ready = ir ? ir.endpoints.filter((e) => e.ready).length : 0;
    const filtered = applyBackendFilters(decision.request, b);
    const changed = JSON.stringify(filtered.request) !== JSON.stringify(decision.request) ? '  (backend filters change the request)' : '';
    out.push(`  ${share(b, decision.backends).padStart(6)}  ${b.backend}  ${ready} ready endpoint(s)${ready === 0 ? ' → 503' : ''}${changed}`);
    if (ir) out.push(...identityLines(ir, table, caller));
  }
  return out;
}

function parseRequest(spec: string | undefined, headerFlags: string[]): { request: RequestDescriptor; url: URL } {
  const m = /^([A-Za-z]+)\s+(\S+)$/.exec(spec?.trim() ?? '');
  if (!m) throw new UsageError(`expected one argument 'METHOD URL', e.g. 'GET http://reviews:9080/'`);
  let url: URL;
  try {
    url = new URL(m[2]!);
  } catch {
    throw new UsageError(`'${m[2]}' is not an absolute URL (http://host[:port]/path)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`only http and https URLs, got ${url.protocol}`);
  const headers: Record<string, string | string[]> = {};
  for (const h of headerFlags) {
    const i = h.indexOf(':');
    if (i <= 0) throw new UsageError(`-H wants 'name: value', got '${h}'`);
    const name = h.slice(0, i).trim().toLowerCase();
    const value = h.slice(i + 1).trim();
    const prev = headers[name];
    headers[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  const authority = headers.host !== undefined ? String(headers.host) : url.host;
  const request: RequestDescriptor = {
    method: m[1]!.toUpperCase(),
    scheme: url.protocol === 'https:' ? 'https' : 'http',
    authority,
    path: url.pathname,
    query: url.search.replace(/^\?/, ''),
    headers: { ...headers, host: authority },
  };
  return { request, url };
}

/**
 * The caller's SPIFFE ID: --as NS/SA (or SA in the --from namespace); by default the `default`
 * service account of --from, or the ingress's identity for --gateway.
 */
function callerIdentity(as: string | undefined, from: string | undefined): string {
  if (as !== undefined) {
    const [a, b, ...rest] = as.split('/');
    if (!a || rest.length > 0 || b === '') throw new UsageError(`--as wants SERVICEACCOUNT or NAMESPACE/SERVICEACCOUNT, got '${as}'`);
    return b === undefined ? spiffeId(from ?? 'default', a) : spiffeId(a, b);
  }
  return from !== undefined ? spiffeId(from, 'default') : spiffeId('meshlet-system', 'meshlet-ingress');
}

export const explainCommand: Command = {
  name: 'explain',
  summary: 'show which rule a request hits, its filters and its backends',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f' },
        header: { type: 'string', short: 'H', multiple: true, default: [] },
        gateway: { type: 'string' },
        from: { type: 'string' },
        address: { type: 'string', multiple: true, default: [] },
        as: { type: 'string' },
        'cluster-networks': { type: 'string' },
      },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new UsageError(`expected one argument 'METHOD URL', got ${positionals.length}`);
    if ((values.gateway === undefined) === (values.from === undefined)) throw new UsageError('give exactly one of --gateway NS/NAME or --from NS');
    const { request, url } = parseRequest(positionals[0], values.header);
    const input = await loadInput(values.filename, io, parseAddresses(values.address));
    const { ir } = translate(input.snapshot);
    if (values.from !== undefined) {
      let networks;
      try {
        networks = parseClusterNetworks(values['cluster-networks'] ?? DEFAULT_CLUSTER_NETWORKS, '--cluster-networks');
      } catch (err) {
        if (err instanceof ClusterNetworksInvalidError) throw new UsageError(err.message);
        throw err;
      }
      const outbound = explainOutbound(ir, request.method, url, values.from, networks);
      if (outbound) {
        io.stdout.write(`${outbound.join('\n')}\n`);
        return input.problems.length > 0 ? 1 : 0;
      }
    }
    const target = values.gateway !== undefined ? resolveGatewayTarget(ir, values.gateway, url) : resolveMeshTarget(ir, values.from!, url);
    const compiled = compileTable(ir);
    const explanation = explain(compiled, target, request);
    const lines = [`request:  ${request.method} ${url.href}${target.kind === 'mesh' ? `  (to ${target.address}:${target.port} from namespace ${target.clientNamespace})` : `  (${target.gateway}, port ${target.port})`}`];
    if (explanation.routes) lines.push(`routes:   ${explanation.routes}${explanation.virtualHost ? `, virtual host ${explanation.virtualHost}` : ''}`);
    for (const v of explanation.rules) {
      if (v.outcome === 'not-reached') continue;
      lines.push(`  ${v.outcome === 'matched' ? 'matched ' : 'no match'} ${v.rule}${v.reason ? `: ${v.reason}` : ''}`);
    }
    const unreached = explanation.rules.filter((v) => v.outcome === 'not-reached').length;
    if (unreached > 0) lines.push(`  (${unreached} lower-precedence rule(s) not evaluated)`);
    lines.push(...formatDecision(explanation.decision, ir, callerIdentity(values.as, values.from)));
    for (const s of shadowedRules(ir)) lines.push(`warning: ${s.rule} (${s.where}, host ${s.virtualHost}) can never match: ${s.shadowedBy} ranks higher and matches everything it does`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return input.problems.length > 0 ? 1 : 0;
  },
};
