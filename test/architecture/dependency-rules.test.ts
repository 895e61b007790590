// The repository keeps DESIGN.md's dependency rules, and each rule is proved to catch a file
// that breaks it, directly and through another of our files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readSources, specifiers } from '../support/import-graph.ts';
import { checkRules, RULES } from './dependency-rules.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FOLDERS = ['api', 'common', 'controller', 'agent', 'ingress', 'injector', 'cli', 'bin'];

test('the repository breaks no dependency rule', () => {
  const sources = readSources(root, FOLDERS);
  assert.ok(sources.size > 200, `read ${sources.size} files`);
  const violations = checkRules(sources);
  assert.deepEqual(violations.map((v) => `${v.rule}: ${v.chain.join(' → ')}`), []);
});

// One violating world per rule: the offending import, and the same reached through a
// harmless-looking file of the same folder (indirect import).
const CASES: { rule: string; file: string; imports: string }[] = [
  { rule: 'api imports nothing of ours', file: 'api/wire.ts', imports: '../agent/engine/core.ts' },
  { rule: 'common imports only api', file: 'common/logger.ts', imports: '../controller/publish/index.ts' },
  { rule: 'controller and injector never import the data plane', file: 'controller/translate/rules.ts', imports: '../../agent/route/match.ts' },
  { rule: 'controller and injector never import the data plane', file: 'injector/webhook/server.ts', imports: '../../ingress/index.ts' },
  { rule: 'agent never imports ingress, controller, injector or cli', file: 'agent/engine/core.ts', imports: '../../controller/translate/index.ts' },
  { rule: 'ingress imports the agent, never the control plane', file: 'ingress/ingress.ts', imports: '../controller/publish/index.ts' },
  { rule: 'pure modules do no I/O', file: 'injector/inject.ts', imports: 'node:net' },
  { rule: 'pure modules do no I/O', file: 'agent/route/match.ts', imports: '../engine/pools.ts' },
  { rule: 'pure modules do no I/O', file: 'controller/translate/backends.ts', imports: '@kubernetes/client-node' },
  { rule: 'product code never imports tests or benchmarks', file: 'cli/main.ts', imports: '../test/support/echo-server.ts' },
];

describe('each rule rejects a violating file', () => {
  test('every rule has a case', () => {
    assert.deepEqual(new Set(CASES.map((c) => c.rule)), new Set(RULES.map((r) => r.name)));
  });
  for (const c of CASES) {
    test(`${c.rule}: ${c.file} importing ${c.imports}`, () => {
      const direct = new Map([[c.file, `import { x } from '${c.imports}';\n`]]);
      const v = checkRules(direct).filter((x) => x.rule === c.rule);
      assert.equal(v.length, 1, JSON.stringify(checkRules(direct)));
      assert.equal(v[0]!.file, c.file);

      // Indirect: the file imports a helper beside it, and the helper does the forbidden import.
      const helper = c.file.replace(/[^/]+$/, 'innocent-helper.ts');
      const indirect = new Map([
        [c.file, `// a comment: import '${c.imports}' is not an import\nexport { y } from './innocent-helper.ts';\n`],
        [helper, `import type { X } from '${c.imports.startsWith('.') ? c.imports : c.imports}';\n`],
      ]);
      const chains = checkRules(indirect).filter((x) => x.rule === c.rule && x.file === c.file);
      assert.equal(chains.length, 1, `indirect import through ${helper} is caught`);
      assert.deepEqual(chains[0]!.chain.slice(0, 2), [c.file, helper]);
    });
  }
  test('test files may reach across layers to build a world', () => {
    const v = checkRules(new Map([['agent/engine/core.test.ts', "import '../../controller/translate/index.ts';\n"]]));
    assert.deepEqual(v, []);
  });
  test('the allowed directions pass: ingress imports agent, everyone imports api', () => {
    const v = checkRules(new Map([
      ['ingress/ingress.ts', "import { ProxyCore } from '../agent/engine/core.ts';\nimport { PORTS } from '../api/names.ts';\n"],
      ['controller/translate/rules.ts', "import type { RouteRuleIR } from '../../api/routing-table.ts';\n"],
    ]));
    assert.deepEqual(v, []);
  });
});

describe('the import scanner', () => {
  test('sees static, re-export, type-only, side-effect and dynamic imports, not comments', () => {
    const text = [
      "import a from './a.ts';",
      "import type { B } from '../b.ts';",
      "export * from './c.ts';",
      "export { d } from './d.ts';",
      "import './e.ts';",
      "const f = await import('./f.ts');",
      "import {",
      "  g,",
      "} from './g.ts';",
      "// import z from './z.ts';",
      "/* import y from './y.ts'; */",
    ].join('\n');
    assert.deepEqual(specifiers(text), ['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts', './f.ts', './g.ts']);
  });
});
