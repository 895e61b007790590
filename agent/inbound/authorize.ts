// Inbound authorization on the caller's verified SPIFFE ID (pure). An endpoint governed by any
// AuthorizationPolicy admits a request only when a rule of one of those policies allows it: the
// destination port is among the rule's ports (or it has none) and the caller matches one of its
// principals (exact, or `…/ns/<ns>/sa/*`). A plaintext caller has no identity and matches none.
// An endpoint no policy governs follows the default inbound policy: allow, authenticated (any
// mesh identity) or deny.
import type { PolicyIR, RoutingTable } from '../../api/routing-table.ts';

export type DefaultInboundPolicy = 'allow' | 'authenticated' | 'deny';

export const DEFAULT_INBOUND_POLICIES: readonly DefaultInboundPolicy[] = ['allow', 'authenticated', 'deny'];

export function parseDefaultInboundPolicy(value: string | undefined, from: string): DefaultInboundPolicy {
  const v = (value ?? 'allow').trim().toLowerCase();
  if ((DEFAULT_INBOUND_POLICIES as readonly string[]).includes(v)) return v as DefaultInboundPolicy;
  throw new Error(`${from} wants allow, authenticated or deny, got '${value}'`);
}

export interface AuthzDecision {
  allowed: boolean;
  /** The policies that governed the endpoint (empty: the default decided). */
  policies: string[];
  reason: string;
}

const index = new WeakMap<PolicyIR[], Map<string, PolicyIR[]>>();

/** v4-mapped IPv6 (`::ffff:10.0.0.1`) as the plain IPv4 the table uses. */
function canonical(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address.toLowerCase();
}

function byAddress(policies: PolicyIR[]): Map<string, PolicyIR[]> {
  let m = index.get(policies);
  if (!m) {
    m = new Map();
    for (const p of policies) {
      for (const e of p.endpoints) {
        const key = canonical(e.address);
        const list = m.get(key) ?? [];
        if (!list.includes(p)) list.push(p);
        m.set(key, list);
      }
    }
    index.set(policies, m);
  }
  return m;
}

function principalMatches(principal: string, peer: string): boolean {
  return principal.endsWith('/sa/*') ? peer.startsWith(principal.slice(0, -1)) : principal === peer;
}

export function authorize(table: RoutingTable | null, address: string, port: number, peer: string | null, fallback: DefaultInboundPolicy): AuthzDecision {
  const governing = (table ? byAddress(table.policies).get(canonical(address)) ?? [] : [])
    .filter((p) => p.endpoints.some((e) => canonical(e.address) === canonical(address) && (e.port === 0 || e.port === port)));
  const caller = peer ?? 'an unauthenticated (plaintext) caller';
  if (governing.length === 0) {
    if (fallback === 'allow') return { allowed: true, policies: [], reason: 'no policy: default allow' };
    if (fallback === 'authenticated') {
      return peer ? { allowed: true, policies: [], reason: 'no policy: default authenticated' } : { allowed: false, policies: [], reason: 'the default inbound policy admits only mesh identities (authenticated)' };
    }
    return { allowed: false, policies: [], reason: 'the default inbound policy denies what no AuthorizationPolicy allows' };
  }
  const names = governing.map((p) => p.name);
  for (const p of governing) {
    for (const r of p.rules) {
      if (r.ports.length > 0 && !r.ports.includes(port)) continue;
      if (peer && r.principals.some((pr) => principalMatches(pr, peer))) return { allowed: true, policies: names, reason: `allowed by ${p.name}` };
    }
  }
  return { allowed: false, policies: names, reason: `no rule of ${names.join(', ')} allows ${caller} on port ${port}` };
}
