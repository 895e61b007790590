// AuthorizationPolicy (policy.meshlet.dev/v1alpha1, GEP-3779's shape) → PolicyIR. Targets are
// resolved to the pod endpoints they govern: a Service targetRef to its EndpointSlices' endpoints
// (with their target ports), a pod selector to the meshed Pods whose labels match, on every port.
// Sources become SPIFFE principals: a ServiceAccount {namespace, name} (name "*" for all of a
// namespace; namespace defaults to the policy's) or a SPIFFE ID as written. action must be ALLOW.
// Status: one ancestor entry per target (GEP-713), Accepted True, or False with the reason; an
// invalid policy is reported and ignored, never half-applied.
import { MESH_CONTROLLER_NAME, spiffeId } from '../../api/names.ts';
import type { PolicyEndpointIR, PolicyIR, PolicyRuleIR } from '../../api/routing-table.ts';
import { isValidSpiffeId } from '../../api/identity.ts';
import { makeCondition } from './conditions.ts';
import type { Lookup } from './lookup.ts';
import type { KubeObject, StatusUpdate } from './snapshot.ts';
import { compareStrings, generationOf, int, isRec, list, namespaceOf, nameOf, nsName, rec, recs, specOf, str } from './util.ts';

export const POLICY_API_VERSION = 'policy.meshlet.dev/v1alpha1';

interface TargetResult {
  ref: Record<string, unknown>;
  endpoints: PolicyEndpointIR[];
  problem: { reason: string; message: string } | null;
}

function serviceEndpoints(lookup: Lookup, namespace: string, name: string): PolicyEndpointIR[] {
  const out: PolicyEndpointIR[] = [];
  for (const slice of lookup.slices.get(nsName(namespace, name)) ?? []) {
    const ports = recs(slice.ports).map((p) => int(p.port)).filter((p): p is number => p !== undefined);
    for (const ep of recs(slice.endpoints)) {
      const target = rec(ep.targetRef);
      const podName = str(target.kind) === 'Pod' ? str(target.name) ?? null : null;
      for (const address of list(ep.addresses)) {
        if (typeof address !== 'string') continue;
        for (const port of ports) out.push({ address, port, namespace, podName });
      }
    }
  }
  return out;
}

function labelsMatch(labels: Record<string, unknown>, selector: Record<string, unknown>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function podEndpoints(lookup: Lookup, namespace: string, selector: Record<string, unknown>): PolicyEndpointIR[] {
  const out: PolicyEndpointIR[] = [];
  for (const pod of lookup.pods.values()) {
    if (namespaceOf(pod) !== namespace || !labelsMatch(pod.metadata.labels ?? {}, selector)) continue;
    const status = rec((pod as { status?: unknown }).status);
    const ips = [str(status.podIP), ...recs(status.podIPs).map((i) => str(i.ip))].filter((a): a is string => Boolean(a));
    for (const address of new Set(ips)) out.push({ address, port: 0, namespace, podName: nameOf(pod) ?? null });
  }
  return out;
}

function resolveTarget(lookup: Lookup, namespace: string, t: Record<string, unknown>): TargetResult {
  const group = str(t.group) ?? '';
  const kind = str(t.kind) ?? '';
  if (group === '' && kind === 'Service' && str(t.name)) {
    const name = str(t.name)!;
    if (!lookup.service(namespace, name)) return { ref: t, endpoints: [], problem: { reason: 'TargetNotFound', message: `Service ${namespace}/${name} does not exist` } };
    return { ref: t, endpoints: serviceEndpoints(lookup, namespace, name), problem: null };
  }
  if (group === '' && kind === 'Pod' && isRec(t.selector)) {
    const matchLabels = rec(rec(t.selector).matchLabels);
    if (Object.keys(matchLabels).length === 0) return { ref: t, endpoints: [], problem: { reason: 'Invalid', message: 'a Pod target needs selector.matchLabels' } };
    return { ref: t, endpoints: podEndpoints(lookup, namespace, matchLabels), problem: null };
  }
  return { ref: t, endpoints: [], problem: { reason: 'Invalid', message: `targets must be a Service (by name) or Pods (by selector), got ${group || 'core'}/${kind}` } };
}

function principalsOf(sources: Record<string, unknown>[], namespace: string, trustDomain: string): { principals: string[]; problem: string | null } {
  const principals: string[] = [];
  for (const [i, s] of sources.entries()) {
    const type = str(s.type);
    if (type === 'ServiceAccount') {
      const sa = rec(s.serviceAccount);
      const name = str(sa.name);
      if (!name) return { principals, problem: `sources[${i}].serviceAccount.name is required ("*" for all)` };
      const ns = str(sa.namespace) ?? namespace;
      principals.push(name === '*' ? `spiffe://${trustDomain}/ns/${ns}/sa/*` : spiffeId(ns, name, trustDomain));
    } else if (type === 'SPIFFE') {
      const id = str(s.spiffe);
      if (!id || !isValidSpiffeId(id)) return { principals, problem: `sources[${i}].spiffe '${id ?? ''}' is not a SPIFFE ID (spiffe://<td>/ns/<ns>/sa/<sa>)` };
      principals.push(id);
    } else {
      return { principals, problem: `sources[${i}].type must be ServiceAccount or SPIFFE, got '${type ?? ''}'` };
    }
  }
  return { principals: [...new Set(principals)].sort(compareStrings), problem: null };
}

function rulesOf(spec: Record<string, unknown>, namespace: string, trustDomain: string): { rules: PolicyRuleIR[]; problem: string | null } {
  const rules: PolicyRuleIR[] = [];
  for (const [i, r] of recs(spec.rules).entries()) {
    const { principals, problem } = principalsOf(recs(r.sources), namespace, trustDomain);
    if (problem) return { rules, problem: `rules[${i}].${problem}` };
    const ports: number[] = [];
    for (const p of list(rec(r.networkAttributes).ports)) {
      const port = int(isRec(p) ? p.port : p);
      if (port === undefined || port < 1 || port > 65535) return { rules, problem: `rules[${i}].networkAttributes.ports: '${JSON.stringify(p)}' is not a port` };
      ports.push(port);
    }
    rules.push({ principals, ports: [...new Set(ports)].sort((a, b) => a - b) });
  }
  return { rules, problem: null };
}

const byEndpoint = (a: PolicyEndpointIR, b: PolicyEndpointIR): number => compareStrings(a.address, b.address) || a.port - b.port;

export function translatePolicies(objects: KubeObject[], lookup: Lookup): { ir: PolicyIR[]; statuses: StatusUpdate[] } {
  const ir: PolicyIR[] = [];
  const statuses: StatusUpdate[] = [];
  for (const obj of objects) {
    const name = nameOf(obj);
    if (!name) continue;
    const namespace = namespaceOf(obj);
    const spec = specOf(obj);
    const generation = generationOf(obj);
    const previous = recs(rec((obj as { status?: unknown }).status).ancestors);
    const targets = recs(spec.targetRefs).map((t) => resolveTarget(lookup, namespace, t));
    const action = str(spec.action) ?? 'ALLOW';
    const { rules, problem } = action === 'ALLOW' ? rulesOf(spec, namespace, lookup.trustDomain) : { rules: [], problem: `action '${action}' is not supported (only ALLOW, as GEP-3779)` };
    const whole = problem ? { reason: 'Invalid', message: problem } : targets.length === 0 ? { reason: 'Invalid', message: 'spec.targetRefs is empty' } : null;
    const ancestors = (targets.length > 0 ? targets : [{ ref: {}, endpoints: [], problem: whole }]).map((t) => {
      const bad = whole ?? t.problem;
      const prev = previous.find((a) => JSON.stringify(a.ancestorRef) === JSON.stringify(t.ref))?.conditions;
      return {
        ancestorRef: { ...t.ref },
        controllerName: MESH_CONTROLLER_NAME,
        conditions: [bad
          ? makeCondition('Accepted', false, bad.reason, bad.message, generation, prev)
          : makeCondition('Accepted', true, 'Accepted', `enforced on ${t.endpoints.length} endpoint(s) by their sidecars`, generation, prev)],
      };
    });
    statuses.push({ apiVersion: POLICY_API_VERSION, kind: 'AuthorizationPolicy', namespace, name, status: { ancestors } });
    if (whole) continue;
    const seen = new Map<string, PolicyEndpointIR>();
    for (const t of targets) if (!t.problem) for (const e of t.endpoints) seen.set(`${e.address}|${e.port}`, e);
    ir.push({ name: `authorizationpolicy/${namespace}/${name}`, namespace, endpoints: [...seen.values()].sort(byEndpoint), rules });
  }
  return { ir: ir.sort((a, b) => compareStrings(a.name, b.name)), statuses };
}
