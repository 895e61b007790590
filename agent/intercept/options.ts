// The options of `meshlet init`, their defaults and validation. The defaults mirror the
// contract in api/names.ts: outbound 15001, inbound 15006, admin 15020, agent uid 1337.
import { isIPv4, isIPv6 } from 'node:net';
import { AGENT_UID, PORTS } from '../../api/names.ts';
import { InitOptionsError } from './errors.ts';

/** '*' means every port / every address; a list means only those. */
export type Selection<T> = '*' | T[];

export interface InitOptions {
  /** Port the agent's outbound listener binds (REDIRECT target for the app's connections). */
  outboundPort: number;
  /** Port the agent's inbound listener binds (REDIRECT target for connections to the pod). */
  inboundPort: number;
  /** Outbound traffic from these uids is never redirected (the agent itself: no loops). */
  proxyUids: number[];
  /** Same by gid (istio-init compatible; empty by default). */
  proxyGids: number[];
  includeOutboundPorts: Selection<number>;
  excludeOutboundPorts: number[];
  /** Destination CIDRs (IPv4 and IPv6 mixed; each family gets its own). */
  includeOutboundCidrs: Selection<string>;
  excludeOutboundCidrs: string[];
  includeInboundPorts: Selection<number>;
  /** Extra inbound ports left alone; the agent's own ports are always excluded. */
  excludeInboundPorts: number[];
  /** 'auto': program IPv6 when the kernel has IPv6 (/proc/net/if_inet6). */
  ipv6: 'auto' | 'on' | 'off';
  /** 'auto': the variant already holding rules, else the system default `iptables`. */
  iptablesMode: 'auto' | 'nft' | 'legacy';
  dryRun: boolean;
  cleanup: boolean;
}

export function defaultInitOptions(): InitOptions {
  return {
    outboundPort: PORTS.outbound,
    inboundPort: PORTS.inbound,
    proxyUids: [AGENT_UID],
    proxyGids: [],
    includeOutboundPorts: '*',
    excludeOutboundPorts: [],
    includeOutboundCidrs: '*',
    excludeOutboundCidrs: [],
    includeInboundPorts: '*',
    excludeInboundPorts: [],
    ipv6: 'auto',
    iptablesMode: 'auto',
    dryRun: false,
    cleanup: false,
  };
}

/** The agent's own ports: redirecting them would loop the agent into itself. */
export function agentPorts(o: Pick<InitOptions, 'outboundPort' | 'inboundPort'>): number[] {
  return [...new Set([o.outboundPort, o.inboundPort, PORTS.admin])];
}

function checkPort(p: number, what: string): void {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new InitOptionsError(`${what}: ${p} is not a port (1-65535)`);
}

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new InitOptionsError(`${what}: ${id} is not a uid/gid`);
}

/** `10.0.0.0/8` or `fd00::/8` (a bare address means a single host). */
export function parseCidr(text: string, what: string): { family: 4 | 6; cidr: string } {
  const [addr = '', bits, extra] = text.split('/');
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  if (family === 0 || extra !== undefined || prefix < 0 || prefix > max) {
    throw new InitOptionsError(`${what}: '${text}' is not an IPv4 or IPv6 CIDR`);
  }
  return { family, cidr: `${addr}/${prefix}` };
}

/** Throws InitOptionsError on the first problem; returns the options for chaining. */
export function validateInitOptions(o: InitOptions): InitOptions {
  checkPort(o.outboundPort, 'outbound port');
  checkPort(o.inboundPort, 'inbound port');
  if (o.outboundPort === o.inboundPort) throw new InitOptionsError('outbound and inbound ports must differ');
  o.proxyUids.forEach((u) => checkId(u, 'proxy uid'));
  o.proxyGids.forEach((g) => checkId(g, 'proxy gid'));
  if (o.proxyUids.length === 0 && o.proxyGids.length === 0) {
    throw new InitOptionsError('at least one proxy uid or gid is needed, or the agent would redirect its own traffic');
  }
  for (const [sel, what] of [[o.includeOutboundPorts, 'include outbound ports'], [o.includeInboundPorts, 'include inbound ports']] as const) {
    if (sel !== '*') sel.forEach((p) => checkPort(p, what));
  }
  o.excludeOutboundPorts.forEach((p) => checkPort(p, 'exclude outbound ports'));
  o.excludeInboundPorts.forEach((p) => checkPort(p, 'exclude inbound ports'));
  if (o.includeOutboundCidrs !== '*') o.includeOutboundCidrs.forEach((c) => parseCidr(c, 'include outbound CIDRs'));
  o.excludeOutboundCidrs.forEach((c) => parseCidr(c, 'exclude outbound CIDRs'));
  return o;
}
