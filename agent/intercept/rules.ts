// The pure rule generator of `meshlet init`: options → the nat-table rules for one address
// family, written exactly as iptables-save prints them (`-p tcp -m tcp --dport`, etc.). Writing
// the canonical form lets the applier compare the kernel's rules with the desired ones line by
// line and skip the write when nothing changed, which is what makes a second run a no-op.
import type { InitOptions } from './options.ts';
import { agentPorts, parseCidr } from './options.ts';

export type Family = 4 | 6;

/** Our chains, in the order they are declared. Everything we own starts with MESHLET_. */
export const CHAINS = {
  inbound: 'MESHLET_INBOUND',
  inRedirect: 'MESHLET_IN_REDIRECT',
  output: 'MESHLET_OUTPUT',
  outDest: 'MESHLET_OUT_DEST',
  redirect: 'MESHLET_REDIRECT',
} as const;
export const CHAIN_PREFIX = 'MESHLET_';

export interface RuleSet {
  family: Family;
  /** User chains to exist (and be flushed before refilling). */
  chains: string[];
  /** `-A CHAIN ...` lines in iptables-save syntax, our chains first, then the built-in jumps. */
  rules: string[];
  /** The subset of `rules` appended to built-in chains (PREROUTING, OUTPUT). */
  jumps: string[];
}

const tcpPort = (p: number): string => `-p tcp -m tcp --dport ${p}`;

function cidrsOf(list: string[], family: Family): string[] {
  return list.map((c) => parseCidr(c, 'CIDR')).filter((c) => c.family === family).map((c) => c.cidr);
}

function inboundRules(o: InitOptions): string[] {
  const rules = [`-A ${CHAINS.inRedirect} -p tcp -j REDIRECT --to-ports ${o.inboundPort}`];
  const excluded = [...new Set([...agentPorts(o), ...o.excludeInboundPorts])];
  for (const p of excluded) rules.push(`-A ${CHAINS.inbound} ${tcpPort(p)} -j RETURN`);
  if (o.includeInboundPorts === '*') {
    rules.push(`-A ${CHAINS.inbound} -p tcp -j ${CHAINS.inRedirect}`);
  } else {
    for (const p of new Set(o.includeInboundPorts)) rules.push(`-A ${CHAINS.inbound} ${tcpPort(p)} -j ${CHAINS.inRedirect}`);
  }
  return rules;
}

function outboundRules(o: InitOptions, family: Family): string[] {
  const out = CHAINS.output;
  // Order matters: every exception RETURNs before anything can jump towards the REDIRECT.
  const rules = [`-A ${CHAINS.redirect} -p tcp -j REDIRECT --to-ports ${o.outboundPort}`];
  rules.push(`-A ${out} -o lo -j RETURN`); // loopback: the app's local calls and the agent's
  for (const uid of new Set(o.proxyUids)) rules.push(`-A ${out} -m owner --uid-owner ${uid} -j RETURN`);
  for (const gid of new Set(o.proxyGids)) rules.push(`-A ${out} -m owner --gid-owner ${gid} -j RETURN`);
  for (const c of new Set(cidrsOf(o.excludeOutboundCidrs, family))) rules.push(`-A ${out} -d ${c} -j RETURN`);
  for (const p of new Set(o.excludeOutboundPorts)) rules.push(`-A ${out} ${tcpPort(p)} -j RETURN`);
  if (o.includeOutboundPorts === '*') {
    rules.push(`-A ${out} -p tcp -j ${CHAINS.outDest}`);
  } else {
    for (const p of new Set(o.includeOutboundPorts)) rules.push(`-A ${out} ${tcpPort(p)} -j ${CHAINS.outDest}`);
  }
  if (o.includeOutboundCidrs === '*') {
    rules.push(`-A ${CHAINS.outDest} -p tcp -j ${CHAINS.redirect}`);
  } else {
    // A list naming no address of this family redirects nothing of this family.
    for (const c of new Set(cidrsOf(o.includeOutboundCidrs, family))) rules.push(`-A ${CHAINS.outDest} -d ${c} -p tcp -j ${CHAINS.redirect}`);
  }
  return rules;
}

/** The complete desired state of the nat table's meshlet part for one family. */
export function buildRuleSet(o: InitOptions, family: Family): RuleSet {
  const jumps = [`-A PREROUTING -p tcp -j ${CHAINS.inbound}`, `-A OUTPUT -p tcp -j ${CHAINS.output}`];
  const own = [...inboundRules(o), ...outboundRules(o, family)];
  // Group by chain in declaration order so the text reads top-down like iptables-save output.
  const chains = Object.values(CHAINS);
  const sorted = chains.flatMap((c) => own.filter((r) => r.startsWith(`-A ${c} `)));
  return { family, chains, rules: [...sorted, ...jumps], jumps };
}

/** iptables-restore input that installs `set` on a table with none of our rules yet. */
export function renderRestore(set: RuleSet): string {
  return ['*nat', ...set.chains.map((c) => `:${c} - [0:0]`), ...set.rules, 'COMMIT', ''].join('\n');
}
