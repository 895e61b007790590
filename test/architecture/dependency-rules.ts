// DESIGN.md's dependency rules as data, and a checker that applies them to every file through
// the whole import graph: a file breaks a rule if anything it imports, directly or through any
// chain of our own files, is forbidden to it. The violation names the chain, so the fix is
// obvious. Tests (*.test.ts) are exempt: they may reach across layers to set up a world.
import { buildGraph, type SourceMap } from '../support/import-graph.ts';

export interface Rule {
  name: string;
  /** Files the rule constrains (prefix match on repository-relative paths). */
  applies: (file: string) => boolean;
  /** Whether importing `target` (an our-file path or a package specifier) is forbidden. */
  forbids: (target: string) => boolean;
  why: string;
}

const under = (...prefixes: string[]) => (p: string): boolean => prefixes.some((x) => p.startsWith(x));
const OURS = ['api/', 'common/', 'controller/', 'agent/', 'ingress/', 'injector/', 'cli/', 'bin/', 'test/', 'bench/', 'charts/'];
const ours = (p: string): boolean => OURS.some((x) => p.startsWith(x));
const IO = new Set([
  'node:net', 'node:http', 'node:http2', 'node:https', 'node:tls', 'node:dgram', 'node:fs', 'node:fs/promises',
  'node:child_process', 'node:worker_threads', 'undici', 'ws', '@kubernetes/client-node', 'http-proxy',
]);

export const RULES: readonly Rule[] = [
  { name: 'api imports nothing of ours', applies: under('api/'), forbids: (t) => ours(t) && !t.startsWith('api/'), why: 'api/ is the contract every process shares' },
  { name: 'common imports only api', applies: under('common/'), forbids: (t) => ours(t) && !under('api/', 'common/')(t), why: 'common/ holds utilities every process may use' },
  { name: 'controller and injector never import the data plane', applies: under('controller/', 'injector/'), forbids: under('agent/', 'ingress/', 'cli/'), why: 'the control plane must not drag the proxy along' },
  { name: 'agent never imports ingress, controller, injector or cli', applies: under('agent/'), forbids: under('ingress/', 'controller/', 'injector/', 'cli/'), why: 'the sidecar must not carry the control plane or the gateway' },
  { name: 'ingress imports the agent, never the control plane', applies: under('ingress/'), forbids: under('controller/', 'injector/', 'cli/'), why: 'the ingress is the agent in gateway mode' },
  {
    name: 'pure modules do no I/O',
    applies: under('controller/translate/', 'agent/route/', 'injector/inject'),
    forbids: (t) => IO.has(t) || t.startsWith('node:fs/') || under('agent/inbound/', 'agent/outbound/', 'agent/engine/', 'agent/listener/', 'agent/balance/', 'agent/identity/', 'controller/provider/', 'controller/publish/', 'controller/status/', 'controller/identity/', 'controller/runners/', 'injector/webhook')(t),
    why: 'translate, the matcher and inject() are pure functions (golden-tested, no network, files or clients)',
  },
  { name: 'product code never imports tests or benchmarks', applies: (f) => !f.startsWith('test/') && !f.startsWith('bench/'), forbids: under('test/', 'bench/'), why: 'tests and benchmarks are not shipped' },
];

export interface Violation {
  rule: string;
  file: string;
  /** file → … → the forbidden import. */
  chain: string[];
}

const isTest = (f: string): boolean => f.endsWith('.test.ts');

/** Applies every rule to every non-test file; one violation per rule and file (the shortest chain). */
export function checkRules(sources: SourceMap, rules: readonly Rule[] = RULES): Violation[] {
  const graph = buildGraph(sources);
  const out: Violation[] = [];
  for (const file of [...graph.keys()].sort()) {
    if (isTest(file)) continue;
    for (const rule of rules) {
      if (!rule.applies(file)) continue;
      // Breadth-first over our own files, so the chain reported is a shortest one.
      const seen = new Set([file]);
      const queue: string[][] = [[file]];
      let found: string[] | null = null;
      while (queue.length > 0 && !found) {
        const chain = queue.shift()!;
        for (const target of graph.get(chain.at(-1)!) ?? []) {
          if (rule.forbids(target)) {
            found = [...chain, target];
            break;
          }
          if (graph.has(target) && !seen.has(target)) {
            seen.add(target);
            queue.push([...chain, target]);
          }
        }
      }
      if (found) out.push({ rule: rule.name, file, chain: found });
    }
  }
  return out;
}
