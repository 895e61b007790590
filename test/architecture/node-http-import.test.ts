// The data plane never ES-imports node:http for its values (ADR 0021): the import reads every
// export of the module to build its namespace, and node:http's lazy WebSocket, CloseEvent and
// MessageEvent getters then load Node's bundled undici with node:http2, zlib and more, +13 MB of
// RSS in every agent and ingress that never uses them. Values come from
// process.getBuiltinModule('node:http'); `import type` is free (erased).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readSources } from '../support/import-graph.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Value imports of node:http (default, named or namespace; `import type` excluded). */
const VALUE_IMPORT = /^\s*import\s+(?!type\b)[^'";]*\bfrom\s*['"](node:)?http['"]|^\s*import\s*['"](node:)?http['"]|\bimport\s*\(\s*['"](node:)?http['"]\s*\)/m;

function importsNodeHttpValues(text: string): boolean {
  return VALUE_IMPORT.test(text);
}

test('the pattern tells value imports of node:http from type imports and from other modules', () => {
  const cases: [string, boolean][] = [
    ["import http from 'node:http';", true],
    ["import { STATUS_CODES } from 'node:http';", true],
    ["import * as http from 'http';", true],
    ["import 'node:http';", true],
    ["const http = await import('node:http');", true],
    ["import type http from 'node:http';", false],
    ["import type { IncomingMessage } from 'node:http';", false],
    ["import http2 from 'node:http2';", false],
    ["import https from 'node:https';", false],
    ["const { createServer } = process.getBuiltinModule('node:http');", false],
  ];
  for (const [text, want] of cases) assert.equal(importsNodeHttpValues(text), want, text);
});

test('no agent or ingress source imports node:http values', () => {
  const sources = readSources(root, ['agent', 'ingress', 'common']);
  assert.ok(sources.size > 100, `read ${sources.size} files`);
  const offenders = [...sources].filter(([file, text]) => !file.endsWith('.test.ts') && importsNodeHttpValues(text)).map(([file]) => file);
  assert.deepEqual(offenders, []);
});

test('why: an ES import of node:http loads Node\'s bundled undici and node:http2, getBuiltinModule does not', () => {
  const loaded = (code: string): string[] => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${code}\nconsole.log(JSON.stringify(process.moduleLoadList))`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as string[]).filter((m) => /internal\/deps\/undici|internal\/http2\/core/.test(m));
  };
  assert.deepEqual(loaded("process.getBuiltinModule('node:http').createServer();"), []);
  assert.equal(loaded("import http from 'node:http'; http.createServer();").length, 2);
});
