// A shared ingress can serve several Gateways on the same port. A request belongs to the
// Gateway with the most specific listener hostname matching its Host (exact beats wildcard,
// longer wildcard beats shorter, hostname-less last); the matcher then applies listener
// isolation within that Gateway.
import type { GatewayIR } from '../api/routing-table.ts';
import { hostnameMatches } from '../agent/route/host-match.ts';
import { hostOf } from '../agent/route/request.ts';

function specificity(hostname: string | null): number {
  if (hostname === null) return 0;
  return hostname.startsWith('*.') ? 1_000 + hostname.length : 100_000 + hostname.length;
}

/** The Gateway (by name) that should answer `authority` on `port`, or null if none has it. */
export function selectGateway(gateways: readonly GatewayIR[], port: number, authority: string): string | null {
  const host = hostOf(authority) ?? '';
  let best: { name: string; score: number } | null = null;
  let first: string | null = null;
  for (const g of gateways) {
    const p = g.ports.find((x) => x.port === port);
    if (!p) continue;
    first ??= g.name;
    for (const l of p.listeners) {
      if (!hostnameMatches(l.hostname, host)) continue;
      const score = specificity(l.hostname);
      if (!best || score > best.score) best = { name: g.name, score };
    }
  }
  return best?.name ?? first;
}
