// Pure planning of `meshlet init` against what the kernel already has: parse `iptables-save -t
// nat`, compare it with the desired RuleSet, and produce one iptables-restore --noflush
// transaction (atomic: all or nothing) or nothing at all when the rules are already right.
import { CHAIN_PREFIX, type RuleSet } from './rules.ts';

export interface NatState {
  /** Our chains (MESHLET_*) present in the table. */
  chains: string[];
  /** `-A MESHLET_* ...` lines, in kernel order. */
  rules: string[];
  /** `-A <other chain> ... -j MESHLET_*` lines: the hooks into built-in (or foreign) chains. */
  jumps: string[];
}

const RULE = /^(?:\[\d+:\d+\]\s+)?(-A (\S+) .*)$/;

/** Reads the nat table of iptables-save output (counters and comments tolerated). */
export function parseNatSave(text: string): NatState {
  const state: NatState = { chains: [], rules: [], jumps: [] };
  let inNat = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) inNat = line === '*nat';
    else if (line === 'COMMIT') inNat = false;
    if (!inNat) continue;
    if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s/)[0] ?? '';
      if (name.startsWith(CHAIN_PREFIX)) state.chains.push(name);
      continue;
    }
    const m = RULE.exec(line);
    if (!m) continue;
    const [, rule = '', chain = ''] = m;
    if (chain.startsWith(CHAIN_PREFIX)) state.rules.push(rule);
    else if (/ -[jg] MESHLET_\S*(\s|$)/.test(rule)) state.jumps.push(rule);
  }
  return state;
}

const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const toDelete = (rule: string): string => `-D${rule.slice(2)}`;

export interface ApplyPlan {
  changed: boolean;
  /** iptables-restore --noflush input, or null when the kernel already matches. */
  restore: string | null;
}

/** What to write so that the table holds exactly `desired` (and no stale meshlet rules). */
export function planApply(current: NatState, desired: RuleSet): ApplyPlan {
  const own = desired.rules.filter((r) => !desired.jumps.includes(r));
  if (
    same([...current.chains].sort(), [...desired.chains].sort()) &&
    same(current.rules, own) &&
    same(current.jumps, desired.jumps)
  ) {
    return { changed: false, restore: null };
  }
  const stale = current.chains.filter((c) => !desired.chains.includes(c));
  const lines = [
    '*nat',
    // Declaring a user chain under --noflush creates it, or flushes it if it exists.
    ...[...desired.chains, ...stale].map((c) => `:${c} - [0:0]`),
    ...current.jumps.map(toDelete),
    ...stale.map((c) => `-X ${c}`),
    ...desired.rules,
    'COMMIT',
    '',
  ];
  return { changed: true, restore: lines.join('\n') };
}

/** What to write to remove every meshlet chain and hook; null when there is none. */
export function planCleanup(current: NatState): string | null {
  if (current.chains.length === 0 && current.jumps.length === 0) return null;
  return [
    '*nat',
    ...current.chains.map((c) => `:${c} - [0:0]`),
    ...current.jumps.map(toDelete),
    ...current.chains.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}
