// The rules of one virtual host, indexed so that finding the first match does not scan every
// rule: Exact paths in a map, PathPrefix values in a trie keyed by path segment, regex paths in
// a list. A lookup gathers the candidate lists that can apply to the path (each already in
// precedence order), then merges them by precedence index and tests each candidate's other
// conditions: the first that passes is exactly the rule a linear first-match scan over the
// sorted rules would pick, because a rule outside the candidate lists cannot match the path.
import type { VirtualHostIR } from '../../api/routing-table.ts';
import { compileRule, matches, type CompiledRule } from './match.ts';
import { trimPrefix } from './path-modifier.ts';
import type { NormalizedRequest } from './request.ts';

interface TrieNode {
  /** Indexes of PathPrefix rules whose (trimmed) prefix ends at this node, ascending; NO_RULES when none. */
  rules: readonly number[];
  /** null for a leaf: most nodes of a big table are leaves (one route's prefix each), and an empty Map costs ~150 bytes. */
  children: Map<string, TrieNode> | null;
}

export interface CompiledVirtualHost {
  vhost: VirtualHostIR;
  rules: CompiledRule[];
  exact: Map<string, number[]>;
  prefixes: TrieNode;
  regex: number[];
}

// Shared by every node that ends no prefix (most inner nodes): one frozen empty list, not one
// array each. Compact nodes matter at scale: 10 000 routes are 10 000 leaves (ADR 0012).
const NO_RULES: readonly number[] = Object.freeze([]);

function node(): TrieNode {
  return { rules: NO_RULES, children: null };
}

function addRule(at: TrieNode, i: number): void {
  // a fresh list holds exactly one index; push() on [] would reserve room for 17
  if (at.rules === NO_RULES) at.rules = [i];
  else (at.rules as number[]).push(i);
}

export function compileVirtualHost(vhost: VirtualHostIR): CompiledVirtualHost {
  const out: CompiledVirtualHost = { vhost, rules: [], exact: new Map(), prefixes: node(), regex: [] };
  vhost.rules.forEach((rule, i) => {
    out.rules.push(compileRule(rule, i));
    const path = rule.match.path;
    if (path.type === 'Exact') {
      const list = out.exact.get(path.value);
      if (list) list.push(i);
      else out.exact.set(path.value, [i]);
    } else if (path.type === 'PathPrefix') {
      let at = out.prefixes;
      const p = trimPrefix(path.value);
      if (p !== '') {
        for (const seg of p.slice(1).split('/')) {
          let next = at.children?.get(seg);
          if (!next) (at.children ??= new Map()).set(seg, (next = node()));
          at = next;
        }
      }
      addRule(at, i);
    } else {
      out.regex.push(i);
    }
  });
  return out;
}

/** The candidate lists for `path`, each ascending by precedence index. */
export function candidateLists(vh: CompiledVirtualHost, path: string): (readonly number[])[] {
  const lists: (readonly number[])[] = [];
  const exact = vh.exact.get(path);
  if (exact) lists.push(exact);
  let at: TrieNode | undefined = vh.prefixes;
  if (at.rules.length > 0) lists.push(at.rules);
  // Walk the path's segments without splitting the string.
  let start = 1;
  while (at?.children && start <= path.length) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    at = at.children.get(path.slice(start, end));
    if (at && at.rules.length > 0) lists.push(at.rules);
    start = end + 1;
  }
  if (vh.regex.length > 0) lists.push(vh.regex);
  return lists;
}

/** Candidate rule indexes in precedence order (a k-way merge of candidateLists). */
export function* candidates(lists: (readonly number[])[]): Generator<number> {
  const pos = lists.map(() => 0);
  for (;;) {
    let best = -1;
    let bestIndex = Infinity;
    for (let l = 0; l < lists.length; l++) {
      const v = lists[l]![pos[l]!];
      if (v !== undefined && v < bestIndex) {
        bestIndex = v;
        best = l;
      }
    }
    if (best < 0) return;
    pos[best]!++;
    yield bestIndex;
  }
}

/** The first rule, in precedence order, that matches the request; null when none does. */
export function firstMatch(vh: CompiledVirtualHost, req: NormalizedRequest): CompiledRule | null {
  const lists = candidateLists(vh, req.path);
  if (lists.length === 1) {
    // The common case (one prefix chain entry or one exact list): no merge needed.
    for (const i of lists[0]!) {
      const c = vh.rules[i]!;
      if (matches(c, req)) return c;
    }
    return null;
  }
  for (const i of candidates(lists)) {
    const c = vh.rules[i]!;
    if (matches(c, req)) return c;
  }
  return null;
}
