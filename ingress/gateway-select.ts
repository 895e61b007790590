// A shared ingress can serve several Gateways on the same port. A request belongs to the
// Gateway with the most specific listener hostname matching its Host (exact beats wildcard,
// longer wildcard beats shorter, hostname-less last); the matcher then applies listener
// isolation within that Gateway. The same choice, made on the TLS SNI, picks the certificate.
import type { GatewayIR, ListenerIR } from '../api/routing-table.ts';
import { hostnameMatches } from '../agent/route/host-match.ts';
import { hostOf } from '../agent/route/request.ts';

function specificity(hostname: string | null): number {
  if (hostname === null) return 0;
  return hostname.startsWith('*.') ? 1_000 + hostname.length : 100_000 + hostname.length;
}

export interface SelectedListener {
  gateway: string;
  listener: ListenerIR;
}

/** The most specific listener on `port` for `host` (a bare lower-case hostname), or null. */
export function selectListener(gateways: readonly GatewayIR[], port: number, host: string): SelectedListener | null {
  let best: (SelectedListener & { score: number }) | null = null;
  for (const g of gateways) {
    const p = g.ports.find((x) => x.port === port);
    if (!p) continue;
    for (const l of p.listeners) {
      if (!hostnameMatches(l.hostname, host)) continue;
      const score = specificity(l.hostname);
      if (!best || score > best.score) best = { gateway: g.name, listener: l, score };
    }
  }
  return best ? { gateway: best.gateway, listener: best.listener } : null;
}

/** The Gateway (by name) that should answer `authority` on `port`, or null if none has it. */
export function selectGateway(gateways: readonly GatewayIR[], port: number, authority: string): string | null {
  const chosen = selectListener(gateways, port, hostOf(authority) ?? '');
  if (chosen) return chosen.gateway;
  return gateways.find((g) => g.ports.some((p) => p.port === port))?.name ?? null;
}
